// The systemd watchdog, fed only while every shard's loop is turning. Each shard stores its loop
// clock in ShardMetrics::heartbeat_ms once per turn (an idle loop still turns at least once a
// second, for its sweep); the main thread asks Due() and sends WATCHDOG=1 only when no shard's
// heartbeat is older than the stall limit, so one stuck shard stops the pings and systemd
// restarts the process after WatchdogSec. Main thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "base/shard_metrics.h"

namespace roomcast::server {

// The monotonic clock in ms (the heartbeats' clock).
[[nodiscard]] uint64_t MonotonicMs();

class Watchdog {
 public:
  // watchdog_usec: from $WATCHDOG_USEC (0: off). Pings go out every third of it; a shard is stuck
  // when its heartbeat is older than half of it, and never sooner than kMinStallMs (an idle shard
  // turns once a second).
  // metrics: the shards' blocks (`shards` of them), whose heartbeat_ms it reads.
  Watchdog(const ShardMetrics* metrics, int shards, uint64_t watchdog_usec);
  static constexpr uint64_t kMinStallMs = 2500;

  [[nodiscard]] bool Enabled() const { return interval_ms_ > 0; }
  // How long the main thread may wait before the next Due() (1000 when off).
  [[nodiscard]] uint64_t WaitMs(uint64_t now_ms) const;
  // True when a ping is due now and every shard is turning. Logs a shard that stopped turning
  // (once per stall) and its recovery.
  [[nodiscard]] bool Due(uint64_t now_ms);
  [[nodiscard]] uint64_t StallLimitMs() const { return stall_ms_; }

 private:
  const ShardMetrics* metrics_;
  int shards_;
  uint64_t interval_ms_ = 0;
  uint64_t stall_ms_ = kMinStallMs;
  uint64_t next_ms_ = 0;
  std::vector<bool> stuck_;
};

}  // namespace roomcast::server
