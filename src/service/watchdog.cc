// The systemd watchdog fed from the shards' heartbeats (watchdog.h).
#include "watchdog.h"

#include <time.h>

#include <algorithm>

#include "base/log.h"

namespace roomcast::server {

uint64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

Watchdog::Watchdog(const ShardMetrics* metrics, int shards, uint64_t watchdog_usec)
    : metrics_(metrics), shards_(shards), stuck_(static_cast<size_t>(shards), false) {
  if (watchdog_usec == 0) return;
  interval_ms_ = std::max<uint64_t>(watchdog_usec / 3000, 10);
  stall_ms_ = std::max<uint64_t>(watchdog_usec / 2000, kMinStallMs);
}

uint64_t Watchdog::WaitMs(uint64_t now_ms) const {
  if (!Enabled()) return 1000;
  return next_ms_ > now_ms ? next_ms_ - now_ms : 0;
}

bool Watchdog::Due(uint64_t now_ms) {
  if (!Enabled() || now_ms < next_ms_) return false;
  next_ms_ = now_ms + interval_ms_;
  bool all_turning = true;
  for (int i = 0; i < shards_; ++i) {
    const uint64_t beat = metrics_[i].heartbeat_ms.load(std::memory_order_relaxed);
    const uint64_t age = now_ms > beat ? now_ms - beat : 0;
    const bool stuck = age > stall_ms_;
    if (stuck && !stuck_[static_cast<size_t>(i)]) {
      RC_ERROR(i,
               "event loop has not turned for %llu ms (limit %llu ms): withholding the systemd "
               "watchdog ping, so systemd restarts roomcast after WatchdogSec",
               static_cast<unsigned long long>(age), static_cast<unsigned long long>(stall_ms_));
    } else if (!stuck && stuck_[static_cast<size_t>(i)]) {
      RC_WARN(i, "event loop turns again: watchdog pings resume");
    }
    stuck_[static_cast<size_t>(i)] = stuck;
    all_turning = all_turning && !stuck;
  }
  return all_turning;
}

}  // namespace roomcast::server
