// The sends one publisher has outstanding (sent, not yet answered), oldest first, so that every
// ack is matched to its send by cid and its send-to-ack latency measured (the publish scenario).
//
// A publisher numbers its sends 1, 2, ... and the cid is "p<pub>-<counter>", so a send's slot is
// found from its counter alone: (counter - oldest) slots past the oldest. One server acks a
// connection's sends in the order they were sent (one room, one owner shard, FIFO rings both
// ways), so an ack normally answers the oldest; one that answers a later send is counted out of
// order, its slot is marked answered and the oldest stays until it is answered itself. The window
// is the span from the oldest unanswered send to the newest, so a send that is never answered
// stops its publisher after `window` more sends instead of letting the ring grow.
// Fixed capacity (the window rounded up to a power of two), no allocation after construction.
// Owned by one worker thread.
#pragma once

#include <cstdint>
#include <vector>

namespace roomcast::load {

class AckWindow {
 public:
  // What an answer found.
  enum class Match { kOldest, kOutOfOrder, kUnknown };
  struct Sent {
    uint64_t send_ns = 0;
    bool measured = false;
  };

  explicit AckWindow(uint32_t window) : window_(window) {
    uint32_t cap = 1;
    while (cap < window) cap <<= 1;
    slots_.resize(cap);
    mask_ = cap - 1;
  }

  // No send may go out while the span from the oldest unanswered send to the newest is full.
  [[nodiscard]] bool Full() const { return span_ >= window_; }
  // Unanswered sends, and those of them sent in the measured window.
  [[nodiscard]] uint32_t Pending() const { return pending_; }
  [[nodiscard]] uint32_t PendingMeasured() const { return pending_measured_; }

  // Records a send; returns its counter (the cid's second number). The caller checks Full() first.
  uint32_t Push(uint64_t send_ns, bool measured) {
    Slot& s = slots_[(oldest_ + span_) & mask_];
    s.send_ns = send_ns;
    s.state = measured ? kMeasured : kWarmup;
    ++span_;
    ++pending_;
    if (measured) ++pending_measured_;
    return next_counter_++;
  }

  // An ack for `counter`: fills *sent and marks the send answered, or kUnknown when the counter
  // names no unanswered send of this publisher (already answered, never sent).
  [[nodiscard]] Match Answer(uint32_t counter, Sent* sent) {
    const uint32_t oldest_counter = next_counter_ - span_;
    const uint32_t offset = counter - oldest_counter;  // wraps to huge when counter < oldest
    if (offset >= span_) return Match::kUnknown;
    if (!Take(offset, sent)) return Match::kUnknown;
    return offset == 0 ? Match::kOldest : Match::kOutOfOrder;
  }

  // An answer without a cid (roomcast's error frames carry none): taken to answer the oldest
  // unanswered send. False when nothing is unanswered.
  [[nodiscard]] bool AnswerOldest(Sent* sent) { return span_ > 0 && Take(0, sent); }

  // The connection is gone: every unanswered send is dropped. Returns how many of them were
  // measured.
  uint32_t Abandon() {
    const uint32_t measured = pending_measured_;
    oldest_ = (oldest_ + span_) & mask_;
    span_ = pending_ = pending_measured_ = 0;
    return measured;
  }

 private:
  enum State : uint8_t { kAnswered = 0, kWarmup = 1, kMeasured = 2 };
  struct Slot {
    uint64_t send_ns = 0;
    State state = kAnswered;
  };

  bool Take(uint32_t offset, Sent* sent) {
    Slot& s = slots_[(oldest_ + offset) & mask_];
    if (s.state == kAnswered) return false;
    sent->send_ns = s.send_ns;
    sent->measured = s.state == kMeasured;
    if (sent->measured) --pending_measured_;
    --pending_;
    s.state = kAnswered;
    // The oldest moves past every answered slot.
    while (span_ > 0 && slots_[oldest_].state == kAnswered) {
      oldest_ = (oldest_ + 1) & mask_;
      --span_;
    }
    return true;
  }

  std::vector<Slot> slots_;
  uint32_t window_;
  uint32_t mask_ = 0;
  uint32_t oldest_ = 0;  // slot index of the oldest unanswered send
  uint32_t span_ = 0;    // slots from the oldest unanswered send to the newest send
  uint32_t pending_ = 0;
  uint32_t pending_measured_ = 0;
  uint32_t next_counter_ = 1;
};

}  // namespace roomcast::load
