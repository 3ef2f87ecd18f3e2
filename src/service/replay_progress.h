// Start-up under systemd (Type=notify) must end within TimeoutStartSec; replaying a big message
// log may take longer. While the replay makes progress, this asks systemd for more time
// (EXTEND_TIMEOUT_USEC) and says how far it got (STATUS); a replay that hangs asks no more and is
// timed out. Main thread only, before the shards start.
#pragma once

#include <cstdint>
#include <string>

#include "notify.h"
#include "watchdog.h"

namespace roomcast::server {

class ReplayProgress {
 public:
  // Each extension grants this much from the moment it is sent; one goes out every kEveryMs.
  static constexpr uint64_t kExtendUsec = 30'000'000;
  static constexpr uint64_t kEveryMs = 5'000;

  explicit ReplayProgress(Notifier* notifier) : notifier_(notifier) { Extend(); }
  // records: events replayed since the last call (0 between phases).
  void Tick(uint64_t records) {
    events_ += records;
    if (!notifier_->Enabled() || (records != 0 && events_ % 1024 != 0)) return;
    if (MonotonicMs() >= last_ms_ + kEveryMs) Extend();
  }

 private:
  void Extend() {
    last_ms_ = MonotonicMs();
    notifier_->Send("EXTEND_TIMEOUT_USEC=" + std::to_string(kExtendUsec) +
                    "\nSTATUS=replaying the message log: " + std::to_string(events_) + " events");
  }
  Notifier* notifier_;
  uint64_t events_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace roomcast::server
