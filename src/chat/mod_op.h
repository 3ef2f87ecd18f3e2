// Moderation acts (PROTOCOL.md v2, "Moderation"): what a moderator asks a room's owner, from a
// WebSocket op ({"op":"ban",...}) or an admin HTTP endpoint (POST /admin/rooms/R/bans ...), in one
// shape. Parsed here (client_op.h's ClientOpParser), decided by the owner (owner/moderation.h).
// Pure data, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/blocked_terms.h"

namespace roomcast::chat {

enum class ModAction : uint8_t {
  kBan,       // user, secs (0: permanent), shadow, reason
  kUnban,     // user
  kClear,     // the whole room, or one user's messages still in history (user set)
  kMode,      // modes
  kDelete,    // seq, reason: the message becomes a retract event (the v1 retraction)
  kListBans,  // GET /admin/rooms/R/bans
  kAudit,     // GET /admin/rooms/R/audit?limit=N
  kTerms,     // PUT /admin/rooms/R/terms (room kGlobalRoom: PUT /admin/terms): rules, compiled
  kGetTerms,  // GET /admin/rooms/R/terms, GET /admin/terms
  kHeld,      // GET /admin/rooms/R/held
  kAllow,     // held_id: the held message is sequenced now
  kDeny,      // held_id: the held message is dropped
};

// The room name that stands for the server-wide blocked terms (not a valid room id, so no real
// room can have it).
inline constexpr std::string_view kGlobalRoom = "*";

// The wire name of an act ("ban", "unban", "clear", "mode", "delete", "bans", "audit").
[[nodiscard]] std::string_view Name(ModAction a);

// A mode change: only the fields given change.
struct ModeChange {
  std::optional<uint32_t> slow_secs;  // 0 (off) .. 86400
  std::optional<bool> subscribers_only, emote_only, unique;
  [[nodiscard]] bool Empty() const {
    return !slow_secs && !subscribers_only && !emote_only && !unique;
  }
};

struct ModOp {
  ModAction action = ModAction::kBan;
  std::string user;  // kBan, kUnban, kClear (empty: the whole room)
  uint32_t secs = 0;
  bool shadow = false;
  std::string reason;
  ModeChange modes;
  uint64_t seq = 0;      // kDelete
  uint32_t limit = 50;   // kAudit
  uint64_t held_id = 0;  // kAllow, kDeny
  // kTerms: the new list and its compiled set (compiled where the request came in, off the
  // owner's message path; immutable, shared).
  std::vector<TermRule> rules;
  std::shared_ptr<const TermSet> compiled;
  // kTerms of kGlobalRoom: a copy the global list's owner sends every other shard (applied, not
  // logged or answered there).
  bool propagated = false;
};

inline constexpr uint32_t kMaxAuditLimit = 1000;

}  // namespace roomcast::chat
