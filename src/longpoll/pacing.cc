#include <algorithm>
#include <cmath>

#include "roomcast/poll_pacing.h"

namespace roomcast::longpoll {
namespace {

constexpr uint64_t kWindowMs = 1000;
constexpr uint32_t kIdleWindowsToZero = 8;
// Absorbs floating error so that an exact wait (e.g. 5000 - 100) is not rounded up to the next ms.
constexpr double kRoundingSlack = 1e-6;

}  // namespace

uint32_t BaseTimeoutMs(const PollPacing& p, const RoomLoad& load) {
  if (p.budget_per_sec == 0 || load.pollers == 0) return 0;
  const double rate = load.msgs_per_sec;
  const bool quiet = !(rate > 0);  // also catches NaN
  // A parked poll is answered by the next batch after a message, or when the hold ends.
  const double cycle_ms =
      quiet ? p.hold_ms
            : std::min<double>(p.hold_ms, std::max<double>(1000.0 / rate, load.flush_interval_ms));
  const double pollers = load.pollers;
  if (cycle_ms > 0 && pollers * 1000.0 / cycle_ms <= p.budget_per_sec) return 0;

  double wait = std::ceil(pollers * 1000.0 / p.budget_per_sec - cycle_ms - kRoundingSlack);
  wait = std::min<double>(wait, p.max_timeout_ms);
  if (!quiet) {
    // Half the time the history covers: the poller comes back with room to spare.
    const double history_ms = load.history_msgs / rate * 1000.0 / 2;
    wait = std::min(wait, std::floor(history_ms));
  }
  return wait > 0 ? static_cast<uint32_t>(wait) : 0;
}

uint32_t JitteredTimeoutMs(uint32_t base_ms, uint32_t jitter_pct, uint32_t slot, uint32_t slots) {
  if (base_ms == 0 || slots <= 1 || jitter_pct == 0) return base_ms;
  const double pct = std::min<uint32_t>(jitter_pct, 100) / 100.0;
  // Position in [-1, 1]: slot 0 at -1, the last slot at +1.
  const double position = 2.0 * (slot % slots) / (slots - 1) - 1.0;
  const double ms = std::round(base_ms * (1.0 + pct * position));
  if (ms < 1) return 1;
  if (ms > UINT32_MAX) return UINT32_MAX;
  return static_cast<uint32_t>(ms);
}

void RateMeter::CloseWindows(uint64_t now_ms) {
  if (now_ms < window_start_ms_ + kWindowMs) return;  // also when time went backwards
  const uint64_t closed = (now_ms - window_start_ms_) / kWindowMs;
  // The open window closes with its count; each further whole window was empty.
  rate_ = 0.5 * rate_ + 0.5 * static_cast<double>(count_);
  idle_windows_ = count_ == 0 ? idle_windows_ + 1 : 0;
  const uint64_t empty = std::min<uint64_t>(closed - 1, kIdleWindowsToZero);
  rate_ = std::ldexp(rate_, -static_cast<int>(empty));
  idle_windows_ += static_cast<uint32_t>(empty);
  if (idle_windows_ >= kIdleWindowsToZero) {
    idle_windows_ = kIdleWindowsToZero;
    rate_ = 0;
  }
  count_ = 0;
  window_start_ms_ += closed * kWindowMs;
}

void RateMeter::Add(uint32_t n, uint64_t now_ms) {
  if (!started_) {
    started_ = true;
    window_start_ms_ = now_ms;
  }
  CloseWindows(now_ms);
  count_ += n;
}

double RateMeter::PerSec(uint64_t now_ms) {
  if (!started_) return 0;
  CloseWindows(now_ms);
  return rate_;
}

}  // namespace roomcast::longpoll
