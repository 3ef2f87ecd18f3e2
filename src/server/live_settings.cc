// The settings a shard takes again after SIGHUP (reload.h): the admin key and the CORS list, handed
// to its sessions (session::Context::ApplyLiveSettings), and the access log's file, reopened.
#include "shard.h"

namespace roomcast::server {

void Shard::ApplyLiveSettings() {
  live_generation_ = shared_->live_generation.load(std::memory_order_acquire);
  const std::shared_ptr<const LiveSettings> live = shared_->live.load();
  sessions_.ApplyLiveSettings(live->admin_key, live->cors_origins);
  access_log_.SetFile(live->access_log, loop_.NowMs());
}

}  // namespace roomcast::server
