// The long-poll timeoutMs policy: how long a client waits before its next poll, chosen per room so
// that the requests one room causes on one shard stay within a budget.
//
// Model: with timeoutMs = 0 a poller's cycle is c0 = the hold time in a quiet room, else the gap
// between messages but no shorter than the room's batch interval (a parked poll is answered at the
// next batch) and no longer than the hold. V pollers then cause V * 1000 / c0 requests per second.
// Within budget the answer is 0 (the hold already paces them); above it the wait T solves
// V * 1000 / (c0 + T) = budget, capped by max_timeout_ms and by half the time the room's history
// covers, so a paced poller never comes back to find its cursor expired. Jitter spreads the wait so
// that pollers answered by the same batch do not come back together.
//
// Pure functions and a small value type; a RateMeter belongs to one room on one shard and only that
// shard's thread may touch it.
#pragma once

#include <cstdint>

namespace roomcast::longpoll {

struct PollPacing {
  uint32_t budget_per_sec = 2000;   // long-poll requests per second one room may cause on ONE
                                    // shard (the caller divides the server-wide budget by the
                                    // shard count); 0 = pacing off (always 0)
  uint32_t hold_ms = 25000;         // how long a parked poll is held
  uint32_t max_timeout_ms = 10000;  // never advise a longer base wait
  uint32_t jitter_pct = 20;         // +- this percentage
};

struct RoomLoad {
  double msgs_per_sec = 0;         // the room's recent message rate
  uint32_t pollers = 0;            // long-poll viewers of the room on this shard
  uint32_t flush_interval_ms = 5;  // the room's current batch interval on this shard
  uint32_t history_msgs = 1000;    // messages the room keeps (a wait must not outrun it)
};

// The wait without jitter, in ms (rounded up). 0 when the room is within budget, the budget is 0
// or there are no pollers. Never lowered by more pollers; never lowered by a higher rate unless
// the history cap binds (a hotter room covers less time with the same history).
[[nodiscard]] uint32_t BaseTimeoutMs(const PollPacing& p, const RoomLoad& load);

// base_ms spread by +- jitter_pct (capped at 100), deterministic in `slot`: slots 0 .. slots-1 sit
// evenly across the band, slot 0 at -jitter and slot slots-1 at +jitter (slot is taken modulo
// slots; with slots <= 1 the base is returned). 0 stays 0 and a non-zero base never becomes 0.
// The +jitter side may exceed max_timeout_ms by up to jitter_pct.
[[nodiscard]] uint32_t JitteredTimeoutMs(uint32_t base_ms, uint32_t jitter_pct, uint32_t slot,
                                         uint32_t slots);

// Message rate of a room: exponentially weighted over 1 s windows (alpha 0.5). Add() counts
// messages at a monotonic time; PerSec() closes any elapsed windows first, so it reports whole
// windows only (a burst shows up within a second). An idle room decays towards 0: each empty
// window halves the rate, and after 8 empty windows in a row the rate is 0. Time going backwards
// is treated as no time passing.
class RateMeter {
 public:
  void Add(uint32_t n, uint64_t now_ms);
  [[nodiscard]] double PerSec(uint64_t now_ms);

 private:
  void CloseWindows(uint64_t now_ms);

  uint64_t window_start_ms_ = 0;
  uint64_t count_ = 0;         // messages in the open window
  double rate_ = 0;            // over the closed windows
  uint32_t idle_windows_ = 0;  // empty windows closed in a row
  bool started_ = false;
};

// A room's message rate as seen through its head seq, which a shard observes now and then (in
// forwards and in poll replies; in a paced room whose pollers are all waiting, nobody observes it
// for seconds). The rate is the growth since a checkpoint 2 to 4 s old, so a late observation is
// averaged over the time it covers rather than counted in one window; a head that has not grown
// for 4 s means a quiet room (0).
class HeadRate {
 public:
  void Observe(uint64_t head, uint64_t now_ms);  // a lower head than seen before is ignored
  [[nodiscard]] double PerSec(uint64_t now_ms) const;

 private:
  bool started_ = false;
  uint64_t head_ = 0, changed_ms_ = 0;  // the highest head and when it last grew
  uint64_t base_ = 0, base_ms_ = 0;     // the checkpoint the rate is measured from
  uint64_t next_ = 0, next_ms_ = 0;     // the next checkpoint (becomes base_ when 2 s old)
};

// Long-polls answered and told to wait: how many are away now. A room's pollers are the ones
// parked plus the ones away, which is what the pacing policy needs (Little's law estimates lag
// behind a changing wait and overshoot). A ring of 256 slots spanning horizon_ms (longer waits
// count until then); a poll counts until the end of the slot its wait ends in, so even a wait of 0
// counts for up to one slot (horizon / 256): in a busy room such polls are answered at once and
// come straight back, and that round trip is all the time they spend away.
class WaitingPollers {
 public:
  explicit WaitingPollers(uint32_t horizon_ms = 16000);
  void Answered(uint64_t now_ms, uint32_t wait_ms, uint32_t n = 1);
  [[nodiscard]] uint32_t Away(uint64_t now_ms);

 private:
  void Expire(uint64_t now_slot);
  static constexpr uint32_t kSlots = 256;
  uint32_t slot_ms_;
  uint64_t first_slot_ = 0;  // absolute index of the oldest slot still counted
  uint64_t total_ = 0;       // the sum of counts_
  uint32_t counts_[kSlots] = {};
};

}  // namespace roomcast::longpoll
