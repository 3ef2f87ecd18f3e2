#include <algorithm>
#include <cmath>

#include "longpoll/poll_pacing.h"

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

namespace {
constexpr uint64_t kCheckpointMs = 2000;
constexpr uint64_t kQuietMs = 2 * kCheckpointMs;
}  // namespace

void HeadRate::Observe(uint64_t head, uint64_t now_ms) {
  if (!started_) {
    started_ = true;
    head_ = base_ = next_ = head;
    changed_ms_ = base_ms_ = next_ms_ = now_ms;
    return;
  }
  if (head > head_) {
    head_ = head;
    changed_ms_ = now_ms;
  }
  if (now_ms >= next_ms_ + kCheckpointMs) {
    // The next checkpoint is old enough to measure from; a very stale base (nobody looked for a
    // long time) is replaced too, by the best point we have: now.
    base_ = next_;
    base_ms_ = next_ms_;
    next_ = head_;
    next_ms_ = now_ms;
  }
}

double HeadRate::PerSec(uint64_t now_ms) const {
  if (!started_ || now_ms < changed_ms_ || now_ms - changed_ms_ >= kQuietMs) return 0;
  const uint64_t span = now_ms > base_ms_ ? now_ms - base_ms_ : 0;
  if (span == 0 || head_ <= base_) return 0;
  return static_cast<double>(head_ - base_) * 1000.0 / static_cast<double>(span);
}

WaitingPollers::WaitingPollers(uint32_t horizon_ms)
    : slot_ms_(std::max<uint32_t>(1, (horizon_ms + kSlots - 1) / kSlots)) {}

void WaitingPollers::Expire(uint64_t now_slot) {
  if (now_slot <= first_slot_) return;
  const uint64_t clear = std::min<uint64_t>(now_slot - first_slot_, kSlots);
  for (uint64_t i = 0; i < clear; ++i) {
    uint32_t& c = counts_[(first_slot_ + i) % kSlots];
    total_ -= c;
    c = 0;
  }
  first_slot_ = now_slot;
}

void WaitingPollers::Answered(uint64_t now_ms, uint32_t wait_ms, uint32_t n) {
  if (n == 0) return;
  const uint64_t now_slot = now_ms / slot_ms_;
  Expire(now_slot);
  const uint64_t back = std::min<uint64_t>((now_ms + wait_ms) / slot_ms_, now_slot + kSlots - 1);
  counts_[back % kSlots] += n;
  total_ += n;
}

uint32_t WaitingPollers::Away(uint64_t now_ms) {
  Expire(now_ms / slot_ms_);
  return static_cast<uint32_t>(std::min<uint64_t>(total_, UINT32_MAX));
}

}  // namespace roomcast::longpoll
