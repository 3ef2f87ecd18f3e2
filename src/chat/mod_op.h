// Moderation acts (PROTOCOL.md v2, "Moderation"): what a moderator asks a room's owner, from a
// WebSocket op ({"op":"ban",...}) or an admin HTTP endpoint (POST /admin/rooms/R/bans ...), in one
// shape. Parsed here (client_op.h's ClientOpParser), decided by the owner (owner/moderation.h).
// Pure data, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roomcast::chat {

enum class ModAction : uint8_t {
  kBan,       // user, secs (0: permanent), shadow, reason
  kUnban,     // user
  kClear,     // the whole room, or one user's messages still in history (user set)
  kMode,      // modes
  kDelete,    // seq, reason: the message becomes a retract event (the v1 retraction)
  kListBans,  // GET /admin/rooms/R/bans
  kAudit,     // GET /admin/rooms/R/audit?limit=N
};

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
  uint64_t seq = 0;     // kDelete
  uint32_t limit = 50;  // kAudit
};

inline constexpr uint32_t kMaxAuditLimit = 1000;

}  // namespace roomcast::chat
