// The settings a shard takes again after SIGHUP (reload.h): the admin key and the CORS list, handed
// to its sessions (session::Context::ApplyLiveSettings), the access log's file, reopened, and
// the rate limits and unique-chat window, handed to its owner's Moderator.
#include "shard.h"

namespace roomcast::server {

void Shard::ApplyLiveSettings() {
  live_generation_ = shared_->live_generation.load(std::memory_order_acquire);
  const std::shared_ptr<const LiveSettings> live = shared_->live.load();
  sessions_.ApplyLiveSettings(live->admin_key, live->cors_origins);
  access_log_.SetFile(live->access_log, loop_.NowMs());
  room::ModPolicy policy;
  policy.rate = room::RateSpec{live->rate_limit.count, live->rate_limit.secs};
  policy.mod_rate = room::RateSpec{live->mod_rate_limit.count, live->mod_rate_limit.secs};
  policy.unique_window_secs = live->unique_window_secs;
  policy.react_rate = room::RateSpec{live->react_rate_limit.count, live->react_rate_limit.secs};
  owner_.SetModPolicy(policy);
}

}  // namespace roomcast::server
