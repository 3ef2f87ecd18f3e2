// Refusals: every reason the server turns a request down that travels between layers (an owner's
// answer to a publish, a retraction or a join), as one enum with one table of wire code, HTTP
// status and text. A front never compares strings to choose an answer; it looks the refusal up.
// Pure data, any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace roomcast::chat {

enum class Refusal : uint8_t {
  kNone = 0,
  kBadRequest,        // input that breaks the protocol's rules (the message says which)
  kTooLarge,          // input over a size limit
  kForbidden,         // not allowed to this caller (e.g. "prio" from a client)
  kRoomLimit,         // a publish into a room that cannot be created (--max-rooms)
  kTooManyRooms,      // a join into a room that cannot be created (--max-rooms)
  kLogFailed,         // the owner's durable log cannot be written
  kNoSuchMessage,     // a retraction of a seq the room never had
  kAlreadyRetracted,  // ... of a message retracted before
  kNotAMessage,       // ... of a retraction
  kGone,              // ... of a message older than the history kept
  // Identity and moderation (PROTOCOL.md v2)
  kUnauthorized,      // no usable token where one is needed, or a bad one
  kTokenExpired,      // an open WebSocket's token ran out (closed 4001)
  kBanned,            // the sender is banned or timed out in the room (retry_ms for a timeout)
  kSubscribersOnly,   // subscribers-only mode and the sender is not one
  kSlowMode,          // slow mode: one message per user per slow_secs (retry_ms)
  kRateLimited,       // the per-user rate limit (retry_ms)
  kEmoteOnly,         // emote-only mode and the text is not only emotes
  kDuplicateText,     // unique chat: the same text was sent in the window
  kBlockedTerm,       // a blocked term with the action "reject"
  kNotBanned,         // an unban of a user who is not banned in the room
  kTooManyActs,       // moderation acts in a room faster than the owner takes them (retry_ms)
  kNoSuchHeld,        // an allow or deny of a held message that is not (or no longer) held
  kRedisUnavailable,  // --redis: Redis cannot be reached (or answered too late): not sequenced
  kTooManyBans,       // --redis: a room's rules hash is full (docs/cluster.md)
  kNoSuchRoom,        // GET /admin/rooms/R of a room its owner does not have
};

struct RefusalInfo {
  std::string_view code;  // the protocol's error code ({"type":"error","code"} / {"error"})
  int http_status;
  std::string_view text;  // the human-readable message
};

// The table entry of a refusal (kNone: a 500 "internal", never sent by a correct caller).
[[nodiscard]] const RefusalInfo& Describe(Refusal r);

}  // namespace roomcast::chat
