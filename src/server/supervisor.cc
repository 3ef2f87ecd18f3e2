#include "supervisor.h"

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "base/log.h"
#include "service/watchdog.h"
#include "shard.h"

namespace roomcast::server {

namespace {

enum class Phase { kServing, kNotice, kStopping };

// Waits up to wait_ms for one of the signals; 0 when none came.
int WaitSignal(const sigset_t& signals, uint64_t wait_ms) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(wait_ms / 1000);
  ts.tv_nsec = static_cast<long>(wait_ms % 1000) * 1000000L;
  const int sig = sigtimedwait(&signals, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

class Drain {
 public:
  Drain(const Config& cfg, SupervisedShards s, Notifier* notifier)
      : cfg_(cfg), s_(s), notifier_(notifier) {}

  // SIGTERM or SIGINT arrived.
  void OnStopSignal(int sig, uint64_t now_ms) {
    const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    if (phase_ == Phase::kServing) {
      notifier_->Send("STOPPING=1\nSTATUS=draining");
      s_.shared->drain_notice.store(true, std::memory_order_relaxed);
      if (cfg_.drain_notice_secs == 0) return Stop(name);
      RC_INFO(-1,
              "received %s: /readyz answers 503 for %u s (--drain-notice-secs), then the "
              "viewers get bye",
              name, cfg_.drain_notice_secs);
      phase_ = Phase::kNotice;
      notice_end_ms_ = now_ms + cfg_.drain_notice_secs * 1000ull;
    } else if (phase_ == Phase::kNotice) {
      RC_INFO(-1, "received %s again: cutting the drain notice short", name);
      Stop(name);
    }
  }
  // Moves to the stop step when the notice is over; true once every shard thread has stopped.
  bool Advance(uint64_t now_ms) {
    if (phase_ == Phase::kNotice && now_ms >= notice_end_ms_) Stop("the drain notice");
    return phase_ == Phase::kStopping &&
           s_.shared->shards_stopped.load(std::memory_order_acquire) >= s_.shared->shards;
  }
  [[nodiscard]] uint64_t WaitMs(uint64_t now_ms) const {
    if (phase_ == Phase::kNotice) return notice_end_ms_ > now_ms ? notice_end_ms_ - now_ms : 0;
    if (phase_ == Phase::kStopping) return 50;
    return UINT64_MAX;
  }

 private:
  void Stop(const char* after) {
    RC_INFO(-1, "after %s: draining (up to %u s)", after, cfg_.drain_secs);
    phase_ = Phase::kStopping;
    for (auto& sh : *s_.shards) sh->Loop().RequestStop();
  }

  const Config& cfg_;
  SupervisedShards s_;
  Notifier* notifier_;
  Phase phase_ = Phase::kServing;
  uint64_t notice_end_ms_ = 0;
};

}  // namespace

void Supervise(const Config& cfg, const sigset_t& signals, SupervisedShards s, Notifier* notifier,
               const std::function<void()>& reload) {
  Watchdog watchdog(s.shared->metrics.get(), s.shared->shards, notifier->WatchdogUsec());
  if (watchdog.Enabled()) {
    RC_INFO(-1, "systemd watchdog every %llu ms; a shard is stuck after %llu ms without a turn",
            static_cast<unsigned long long>(notifier->WatchdogUsec() / 1000),
            static_cast<unsigned long long>(watchdog.StallLimitMs()));
  }
  Drain drain(cfg, s, notifier);
  while (true) {
    uint64_t now = MonotonicMs();
    if (watchdog.Due(now)) notifier->Send("WATCHDOG=1");
    if (drain.Advance(now)) break;
    const uint64_t wait = std::min({watchdog.WaitMs(now), drain.WaitMs(now), uint64_t{1000}});
    const int sig = WaitSignal(signals, wait);
    now = MonotonicMs();
    if (sig == SIGHUP) {
      notifier->Send("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=" + std::to_string(now * 1000));
      reload();
      notifier->Send("READY=1\nSTATUS=serving");
    } else if (sig == SIGTERM || sig == SIGINT) {
      drain.OnStopSignal(sig, now);
    }
  }
  for (auto& t : *s.threads) t.join();
}

}  // namespace roomcast::server
