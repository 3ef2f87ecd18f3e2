// The JSON objects a client sends on a WebSocket ({"op":...}) and in an HTTP send body, parsed
// with simdjson and checked against the protocol's limits. Per shard: a ClientOpParser owns a
// simdjson parser and must stay on the shard that made it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "chat/mod_op.h"
#include "chat/refusal.h"

namespace roomcast::chat {

// kModerate: a moderation act (ban, unban, clear, mode, delete), in ClientOp::mod.
enum class OpKind { kSend, kPing, kReact, kModerate, kRefresh, kUnknown };

struct ClientOp {
  OpKind kind = OpKind::kUnknown;
  std::string text;     // kSend: the message text (validated)
  std::string cid;      // kSend: client id, may be empty
  std::string emoji;    // kReact
  std::string token;    // kRefresh: the new token (checked by the caller)
  std::string op_name;  // the "op" string as sent (for error messages)
  // Server-side publish (ParseAdminPublish) only:
  std::string user;      // who it is shown from; "system" when not given
  std::string msg_kind;  // e.g. "gift"; may be empty
  bool prio = false;
  ModOp mod;  // kModerate
};

// The body of an admin retraction: DELETE /admin/rooms/R/messages/S.
struct RetractBody {
  std::string reason;  // shown to viewers in the retract object; may be empty
  std::string by;      // who did it (the audit record); "admin" when not given
};

struct TextLimits {
  uint32_t max_code_points = 500;
  uint32_t max_cid_bytes = 64;
};

// A refused op: kBadRequest, kTooLarge or kForbidden (kNone on success), with its wire code
// (the protocol's `error.code`) and a human-readable reason.
struct OpError {
  Refusal refusal = Refusal::kNone;
  std::string_view code;  // "" on success; else Describe(refusal).code
  std::string message;
};

class ClientOpParser {
 public:
  ClientOpParser();
  ~ClientOpParser();

  // Parses a WebSocket text payload {"op":"send","text":"...","cid":"..."} etc.
  // Rules: a JSON object; "op" a string; for "send": "text" a string of 1..max_code_points code
  // points with no control character other than '\n' (too many -> code "too_large"), optional
  // "cid" a string of 1..max_cid_bytes bytes of [A-Za-z0-9_.:-]. Unknown op -> kUnknown with no
  // error (the caller answers bad_request "unknown op").
  [[nodiscard]] OpError ParseWsOp(std::string_view json, const TextLimits& limits, ClientOp* out);

  // Parses an HTTP send body {"text":"...","cid":"..."}: same rules as "send", no "op" needed.
  [[nodiscard]] OpError ParseHttpSend(std::string_view json, const TextLimits& limits,
                                      ClientOp* out);

  // Parses an admin publish body {"text","cid"?,"user"?,"prio"?,"kind"?}: "text" and "cid" as
  // for a send; "user" a user name (default "system"); "prio" true/false or 1/0; "kind" 1..32
  // bytes of [a-z0-9_-]. A client "send" that carries "prio" is refused (code "forbidden"):
  // the priority lane is for server-side publishes.
  [[nodiscard]] OpError ParseAdminPublish(std::string_view json, const TextLimits& limits,
                                          ClientOp* out);

  // Parses an admin moderation body (POST /admin/rooms/R/bans, .../clear, .../modes) for
  // `action`, with the same rules as the WebSocket op of that name; an empty body is {}.
  [[nodiscard]] OpError ParseModBody(std::string_view json, ModAction action, ModOp* out);

  // Parses a retraction body {"reason"?,"by"?}; an empty body is fine. "reason": at most 200
  // code points, no control characters; "by": a user name.
  [[nodiscard]] OpError ParseRetract(std::string_view json, RetractBody* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Room id rule: 1..64 bytes of [A-Za-z0-9_.:-].
[[nodiscard]] bool IsValidRoomId(std::string_view room);
// User name rule (until auth): 1..64 bytes of [A-Za-z0-9_.:-].
[[nodiscard]] bool IsValidUserName(std::string_view user);

}  // namespace roomcast::chat
