// The per-shard side of rooms: each shard that has viewers of a room keeps a replica holding the
// local viewer list and the messages that arrived since the last flush. Viewers are opaque 32-bit
// ids (the protocol layer's connection ids): rooms know nothing of sockets.
//
// Pacing: a replica with V local viewers flushes at most every max(tick_ms, V / send_budget_per_ms)
// so that one shard's sends per second stay within budget however hot the room is; batching turns
// many messages into one buffer (and one send) per viewer per flush.
// Shard-local: only the owning shard's thread may touch a Replicas.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "room/room_owner.h"

namespace roomcast::room {

using ViewerId = uint32_t;
inline constexpr uint32_t kNoReplica = 0xFFFFFFFF;
inline constexpr size_t kRecentPrio = 64;

// How a viewer is served: streamed (WebSocket frames or SSE events) or as a parked long-poll.
enum class ViewerList : uint8_t { kWs = 0, kSse = 1 };

// A long-poll request parked at `seq` (it has every message up to seq and waits for the next).
struct Poller {
  ViewerId viewer = 0;
  uint32_t tag = 0;  // the caller's (how to answer: keep-alive, CORS origin, jitter slot)
  uint64_t seq = 0;
  uint64_t deadline_ms = 0;
};

struct Replica {
  std::string name;
  std::string epoch;              // the owner's epoch, learnt from join replies
  std::vector<ViewerId> viewers;  // WebSocket viewers; position kept by the caller (O(1) removal)
  std::vector<ViewerId> sse;      // SSE viewers, likewise
  std::vector<Poller> pollers;    // parked long-polls, likewise
  uint32_t joining = 0;           // joins sent to the owner and not answered yet
  std::vector<SequencedMsg> pending;  // arrived since the last flush, in seq order
  // The last kRecentPrio priority events that reached this shard: a slow viewer that skips
  // ahead still gets those inside its gap.
  std::vector<SequencedMsg> recent_prio;
  // Messages in `pending` sampled out of a hot room, each with a user whose viewers still get it
  // (its sender, a user it mentions): (index in pending, room::UserTag of the user).
  std::vector<std::pair<uint32_t, uint64_t>> sampled_for;
  uint64_t last_flush_ms = 0;
  bool dirty = false;
  bool prio_due = false;  // a priority message is pending: due kPrioFlushMs after the last flush
  bool in_use = false;
  // Fan-out lag of this room's deliveries since the shard's last lag report (room_stats.h).
  LagHistogram lag;
  bool lag_listed = false;  // in the shard's list of rooms to report
};

// A big room is paced (FlushIntervalMs: up to a second between flushes); a priority message
// makes its room due this long after its last flush instead. One extra flush per priority
// message at most, and at most 1000 / kPrioFlushMs flushes a second in a flood of them.
inline constexpr uint32_t kPrioFlushMs = 100;

struct PacingPolicy {
  uint32_t tick_ms = 5;                  // the shortest interval between two flushes of a room
  uint32_t send_budget_per_sec = 50000;  // sends one shard may start per second
};

// The flush interval of a room with this many local viewers.
[[nodiscard]] uint32_t FlushIntervalMs(const PacingPolicy& p, size_t viewers);

class Replicas {
 public:
  explicit Replicas(PacingPolicy pacing) : pacing_(pacing) {}
  const PacingPolicy& Pacing() const { return pacing_; }

  // Index of the room's replica, created if absent.
  uint32_t GetOrCreate(std::string_view name);
  uint32_t Find(std::string_view name) const;
  Replica& At(uint32_t idx) { return slots_[idx]; }
  size_t Count() const { return by_name_.size(); }

  // Adds a viewer; returns its position (store it for RemoveViewer).
  uint32_t AddViewer(uint32_t idx, ViewerId v, ViewerList list = ViewerList::kWs);
  // Removes the viewer at pos by moving the last one there; returns the moved viewer id (or
  // the removed one when it was last) so the caller can update its stored position.
  ViewerId RemoveViewer(uint32_t idx, uint32_t pos, ViewerList list = ViewerList::kWs);
  // Parks a long-poll; returns its position. RemovePoller works like RemoveViewer.
  uint32_t AddPoller(uint32_t idx, const Poller& p);
  ViewerId RemovePoller(uint32_t idx, uint32_t pos);
  // Everyone a flush reaches: WebSocket and SSE viewers and parked polls (paces the room).
  static size_t Audience(const Replica& r) {
    return r.viewers.size() + r.sse.size() + r.pollers.size();
  }
  // A message arrived from the owner.
  void Deliver(uint32_t idx, SequencedMsg msg);
  // Frees the replica if nobody uses it (no viewers, no polls, no joins in flight).
  void ReleaseIfUnused(uint32_t idx);

  // Rooms whose pending messages are due now: calls fn(idx) for each and returns the ms until
  // the next room becomes due (or UINT32_MAX).
  template <typename Fn>
  uint32_t FlushDue(uint64_t now_ms, Fn&& fn) {
    uint32_t next = UINT32_MAX;
    size_t keep = 0;
    for (size_t i = 0; i < dirty_.size(); ++i) {
      uint32_t idx = dirty_[i];
      Replica& r = slots_[idx];
      if (!r.in_use || !r.dirty) continue;
      const uint32_t every = FlushIntervalMs(pacing_, Audience(r));
      const uint64_t due = r.last_flush_ms + (r.prio_due ? std::min(every, kPrioFlushMs) : every);
      if (now_ms >= due) {
        r.dirty = false;
        r.prio_due = false;
        r.last_flush_ms = now_ms;
        fn(idx);
      } else {
        dirty_[keep++] = idx;
        next = std::min<uint32_t>(next, static_cast<uint32_t>(due - now_ms));
      }
    }
    dirty_.resize(keep);
    return next;
  }

 private:
  PacingPolicy pacing_;
  std::vector<Replica> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> dirty_;
  std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace roomcast::room
