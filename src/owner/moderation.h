// Moderation at a room's owner (PROTOCOL.md v2, "Moderation"): each room's rules (bans and
// timeouts, modes, the per-user rate windows: room::RoomModeration) and its audit log, plus the
// control records that make every act durable: the owner appends one per act to its EventLog
// (store::kRecControl, seq 0) and start-up replay reads them back through Restore. Rooms with
// nothing to keep are dropped by Sweep. Owner shard thread only; plain calls in unit tests.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/blocked_terms.h"
#include "chat/mod_op.h"
#include "room/room_moderation.h"

namespace roomcast::owner {

// One moderation act as the audit log keeps it.
struct AuditEntry {
  int64_t ts_ms = 0;
  std::string actor, action, target, reason;
  uint64_t seq = 0;  // the event the act made (a retract, a clear, a state), 0: none
};

// A message held by a blocked term with the action "hold", until a moderator allows (then it is
// sequenced) or denies it, or Moderation::kHeldMs passes.
struct HeldMsg {
  uint64_t id = 0;
  int64_t ts_ms = 0;
  std::string user, text, cid, name, badges_json;
  uint8_t roles = 0;
};

struct RoomRules {
  room::RoomModeration rules;
  std::vector<chat::TermRule> terms;              // the room's blocked terms
  std::shared_ptr<const chat::TermSet> term_set;  // ... compiled (null: none)
  std::deque<HeldMsg> held;                       // oldest first, at most kMaxHeld
  uint64_t next_held = 1;
  std::deque<AuditEntry> audit;  // oldest first, at most Moderation::kMaxAudit
  std::deque<int64_t> acts_ms;   // the times of the room's latest acts (the flood limit)
};

// A control record read back (Moderation::Restore), for what the owner's room must redo.
struct RestoredAct {
  chat::ModAction action = chat::ModAction::kBan;
  uint64_t seq = 0;  // kClear of the whole room: the clear event
  bool whole_room = false;
  // kTerms of chat::kGlobalRoom: the server-wide list (the owner keeps it, not a room)
  std::vector<chat::TermRule> rules;
  std::shared_ptr<const chat::TermSet> compiled;
};

class Moderation {
 public:
  static constexpr size_t kMaxAudit = 1000;  // entries kept per room (the newest)
  // At most this many acts per room in kActWindowMs (a flood of mode changes is refused).
  static constexpr size_t kMaxActs = 30;
  static constexpr int64_t kActWindowMs = 10'000;
  static constexpr size_t kMaxHeld = 1000;            // held messages per room
  static constexpr int64_t kHeldMs = 10 * 60 * 1000;  // a held message is dropped after this

  Moderation(const room::ModPolicy& policy, size_t max_rooms)
      : policy_(policy), max_rooms_(max_rooms) {}

  [[nodiscard]] const room::ModPolicy& Policy() const { return policy_; }
  void SetPolicy(const room::ModPolicy& p) { policy_ = p; }
  [[nodiscard]] RoomRules* Find(std::string_view room);
  // nullptr when max_rooms rooms already have rules.
  [[nodiscard]] RoomRules* GetOrCreate(std::string_view room);
  [[nodiscard]] size_t RoomCount() const { return rooms_.size(); }

  // {"slow_secs":N,"subscribers_only":b,"emote_only":b,"unique":b[,"auto":true]}: slow_secs is
  // the interval in force; "auto" when it is automatic slow mode's (RoomModes::AutoSlow).
  [[nodiscard]] static std::string ModesJson(const room::RoomModes& m);
  [[nodiscard]] std::string ModesJsonOf(std::string_view room);

  // The flood limit: false (and *retry_ms) when the room had kMaxActs acts in the window.
  [[nodiscard]] static bool AdmitAct(RoomRules* rr, int64_t now_ms, uint64_t* retry_ms);
  static void Audit(RoomRules* rr, AuditEntry e);
  // GET /admin/rooms/R/bans and .../audit?limit=N answers.
  [[nodiscard]] std::string BansJson(std::string_view room, int64_t now_ms);
  [[nodiscard]] std::string AuditJson(std::string_view room, uint32_t limit);
  // GET .../terms ({"terms":[...],"regex":[...]}) and GET .../held.
  [[nodiscard]] std::string TermsJson(std::string_view room);
  [[nodiscard]] std::string HeldJson(std::string_view room);
  // Holds a message (false: the room's queue is full); *id: its id.
  [[nodiscard]] static bool Hold(RoomRules* rr, HeldMsg m, uint64_t* id);
  // Takes a held message out of the queue (false: no such id, or it was dropped).
  [[nodiscard]] static bool TakeHeld(RoomRules* rr, uint64_t id, HeldMsg* out);
  // The control record of a held message (replayed as a hold).
  [[nodiscard]] static std::string HoldJson(const HeldMsg& m);

  // The control record of an act by `actor` at ts_ms: {"act","user"?,"secs"?,"shadow"?,
  // "modes"?,"seq"?,"reason"?}. modes: the room's modes after a kMode act.
  [[nodiscard]] static std::string ActJson(const chat::ModOp& op, const room::RoomModes& modes,
                                           uint64_t seq);
  // A checkpoint record of a room's state (bans, modes, terms, held messages; not the audit):
  // {"act":"checkpoint",...}; "" when the room holds none of it.
  [[nodiscard]] static std::string CheckpointJson(const RoomRules& rr, int64_t now_ms);
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (auto& [name, rr] : rooms_) fn(name, *rr);
  }
  // Start-up replay of one control record: the act applied again (a timeout ends when it ended
  // first) and audited. False for a record it cannot read (then nothing changed).
  bool Restore(std::string_view room, std::string_view actor, std::string_view json, int64_t ts_ms,
               RestoredAct* out);

  // About once a second: ended timeouts and rate windows dropped, rooms with nothing left
  // (no bans, default modes, no audit, nobody tracked) forgotten.
  void Sweep(int64_t now_ms);

 private:
  // "id","user","text","ts" of a held message, and with `whole` what sequencing it needs too
  // ("cid","name","badges","roles").
  static void AppendHeld(std::string* j, const HeldMsg& m, bool whole);
  bool RestoreTerms(const simdjson::dom::object& o, RestoredAct* out);
  bool RestoreHold(std::string_view room, const simdjson::dom::object& o, int64_t ts_ms);
  bool RestoreCheckpoint(std::string_view room, const simdjson::dom::object& o);

  room::ModPolicy policy_;
  size_t max_rooms_;
  struct NameHash {  // lookups by string_view, no allocation per message
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<RoomRules>, NameHash, std::equal_to<>> rooms_;
};

}  // namespace roomcast::owner
