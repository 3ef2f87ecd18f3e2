// Moderation at a room's owner (PROTOCOL.md v2, "Moderation"): each room's rules (bans and
// timeouts, modes, the per-user rate windows: room::RoomModeration) and its audit log, plus the
// control records that make every act durable: the owner appends one per act to its EventLog
// (store::kRecControl, seq 0) and start-up replay reads them back through Restore. Rooms with
// nothing to keep are dropped by Sweep. Owner shard thread only; plain calls in unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/mod_op.h"
#include "room/room_moderation.h"

namespace roomcast::owner {

// One moderation act as the audit log keeps it.
struct AuditEntry {
  int64_t ts_ms = 0;
  std::string actor, action, target, reason;
  uint64_t seq = 0;  // the event the act made (a retract, a clear, a state), 0: none
};

struct RoomRules {
  room::RoomModeration rules;
  std::deque<AuditEntry> audit;  // oldest first, at most Moderation::kMaxAudit
  std::deque<int64_t> acts_ms;   // the times of the room's latest acts (the flood limit)
};

// A control record read back (Moderation::Restore), for what the owner's room must redo.
struct RestoredAct {
  chat::ModAction action = chat::ModAction::kBan;
  uint64_t seq = 0;  // kClear of the whole room: the clear event
  bool whole_room = false;
};

class Moderation {
 public:
  static constexpr size_t kMaxAudit = 1000;  // entries kept per room (the newest)
  // At most this many acts per room in kActWindowMs (a flood of mode changes is refused).
  static constexpr size_t kMaxActs = 30;
  static constexpr int64_t kActWindowMs = 10'000;

  Moderation(const room::ModPolicy& policy, size_t max_rooms)
      : policy_(policy), max_rooms_(max_rooms) {}

  [[nodiscard]] const room::ModPolicy& Policy() const { return policy_; }
  [[nodiscard]] RoomRules* Find(std::string_view room);
  // nullptr when max_rooms rooms already have rules.
  [[nodiscard]] RoomRules* GetOrCreate(std::string_view room);
  [[nodiscard]] size_t RoomCount() const { return rooms_.size(); }

  // {"slow_secs":N,"subscribers_only":b,"emote_only":b,"unique":b}
  [[nodiscard]] static std::string ModesJson(const room::RoomModes& m);
  [[nodiscard]] std::string ModesJsonOf(std::string_view room);

  // The flood limit: false (and *retry_ms) when the room had kMaxActs acts in the window.
  [[nodiscard]] static bool AdmitAct(RoomRules* rr, int64_t now_ms, uint64_t* retry_ms);
  static void Audit(RoomRules* rr, AuditEntry e);
  // GET /admin/rooms/R/bans and .../audit?limit=N answers.
  [[nodiscard]] std::string BansJson(std::string_view room, int64_t now_ms);
  [[nodiscard]] std::string AuditJson(std::string_view room, uint32_t limit);

  // The control record of an act by `actor` at ts_ms: {"act","user"?,"secs"?,"shadow"?,
  // "modes"?,"seq"?,"reason"?}. modes: the room's modes after a kMode act.
  [[nodiscard]] static std::string ActJson(const chat::ModOp& op, const room::RoomModes& modes,
                                           uint64_t seq);
  // Start-up replay of one control record: the act applied again (a timeout ends when it ended
  // first) and audited. False for a record it cannot read (then nothing changed).
  bool Restore(std::string_view room, std::string_view actor, std::string_view json, int64_t ts_ms,
               RestoredAct* out);

  // About once a second: ended timeouts and rate windows dropped, rooms with nothing left
  // (no bans, default modes, no audit, nobody tracked) forgotten.
  void Sweep(int64_t now_ms);

 private:
  room::ModPolicy policy_;
  size_t max_rooms_;
  std::unordered_map<std::string, std::unique_ptr<RoomRules>> rooms_;
};

}  // namespace roomcast::owner
