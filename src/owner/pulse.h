// Pulse: a room's unsequenced events, decided at its owner (PROTOCOL.md, "Presence, counts and
// hot rooms"). Two of them:
//   - reactions: each {"op":"react"} is counted in the room's current window in O(1) (after its
//     own rate limit, --react-rate-limit, per user or anonymous connection); once per
//     --reaction-window-ms a window with reactions becomes one `reactions` event;
//   - presence: when a room's online count changed, one `state` event at most every
//     --state-interval-ms (never one per join), and none when every viewer already knows the
//     count (a lone viewer's own join: its `welcome` said so).
// Neither takes a seq, is written to the log or is replayed: they say how the room is now. The
// owner asks Due() each tick and sends what it returns to the shards with viewers. Owner shard
// only; plain data, driven by plain calls in unit tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/refusal.h"
#include "room/reactions.h"
#include "room/room_moderation.h"

namespace roomcast::owner {

struct PulseOptions {
  uint32_t reaction_window_ms = 1000;  // --reaction-window-ms
  uint32_t state_interval_ms = 2000;   // --state-interval-ms (0: no presence `state` events)
  room::RateSpec react_rate{10, 1};    // --react-rate-limit ({0,0}: no limit)
};

class Pulse {
 public:
  explicit Pulse(const PulseOptions& o) : opt_(o) {}

  // At most this many reactors (users or anonymous connections) are tracked per room within a
  // rate window; past it a reaction from a new one is refused like a rate-limited one.
  static constexpr size_t kMaxReactorsPerRoom = 100'000;

  struct ReactResult {
    chat::Refusal refusal = chat::Refusal::kNone;  // kRateLimited
    uint64_t retry_ms = 0;
  };
  // A reaction `emote` (already checked: chat::IsEmote) in `room` by `reactor` at now_ms.
  ReactResult React(std::string_view room, std::string_view reactor, std::string_view emote,
                    uint64_t now_ms);
  // The room's online count changed at now_ms to `online`; a join's viewer was told
  // `welcome_online` in its welcome (0 for a leave).
  void NoteOnline(std::string_view room, uint64_t now_ms, uint64_t online, uint64_t welcome_online);
  // A presence state Due named: true when it must go out with `online` (some viewer may believe
  // another count), and then every viewer will know `online`.
  [[nodiscard]] bool Announce(std::string_view room, uint64_t online, uint64_t now_ms);

  // What is due at now_ms: each room whose reactions window ended (with the event's JSON) and
  // each room whose presence `state` is due (json empty: the owner builds it, as it knows the
  // count and the modes). A due state is not due again until NoteOnline.
  struct DueEvent {
    std::string room;
    std::string json;  // a `reactions` event; empty: a presence `state` may be due (Announce)
  };
  [[nodiscard]] std::vector<DueEvent> Due(uint64_t now_ms);
  // The last `reactions` counts sent for the room ("{}" when none), for snapshots.
  [[nodiscard]] std::string_view LastCounts(std::string_view room) const;
  // When Due may next return something (UINT64_MAX: nothing pending).
  [[nodiscard]] uint64_t NextDueMs() const { return next_due_ms_; }

  void SetReactRate(room::RateSpec r) { opt_.react_rate = r; }
  [[nodiscard]] const PulseOptions& Options() const { return opt_; }
  [[nodiscard]] size_t TrackedRooms() const { return rooms_.size(); }
  [[nodiscard]] uint64_t DroppedKinds() const { return dropped_kinds_; }

 private:
  // A token bucket: up to count reactions at once, refilled count per secs.
  struct Bucket {
    double tokens = 0;
    uint64_t at_ms = 0;
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct RoomPulse {
    room::ReactionWindow window;
    uint64_t window_end_ms = 0;  // 0: no window open
    uint64_t state_due_ms = 0;   // 0: no state due
    uint64_t last_state_ms = 0;
    uint64_t sweep_ms = 0;  // 0: no buckets to sweep
    std::string last_counts = "{}";
    // The counts the room's viewers may believe now (their welcomes', the last state's): empty
    // (min > max) once nobody is left.
    uint64_t believed_min = UINT64_MAX, believed_max = 0;
    bool listed = false;  // in active_
    std::unordered_map<std::string, Bucket, NameHash, std::equal_to<>> buckets;
    [[nodiscard]] bool Pending() const {
      return window_end_ms != 0 || state_due_ms != 0 || !buckets.empty();
    }
  };
  // The room's entry, listed among the active ones.
  RoomPulse& Active(std::string_view room);
  ReactResult Take(RoomPulse& p, std::string_view reactor, uint64_t now_ms);
  void SweepBuckets(RoomPulse& p, uint64_t now_ms);
  void Wake(uint64_t at_ms) { next_due_ms_ = std::min(next_due_ms_, at_ms); }

  PulseOptions opt_;
  // Entries live while they have work pending or viewers who believe a count; only the active
  // ones (work pending) are visited by Due.
  std::unordered_map<std::string, RoomPulse, NameHash, std::equal_to<>> rooms_;
  std::vector<std::string> active_;
  uint64_t next_due_ms_ = UINT64_MAX;
  uint64_t dropped_kinds_ = 0;
};

}  // namespace roomcast::owner
