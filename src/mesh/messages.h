// The typed shard-to-shard messages: one variant of every kind, owned by the message (the ring
// carries a pointer to a heap Message whose ownership moves with it). Handling a Message is one
// std::visit, so a new kind is a compile error until every dispatcher handles it; freeing one
// nobody received is deleting it. Any thread may build one; the receiving shard owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "chat/mod_op.h"
#include "chat/refusal.h"
#include "mesh/mesh.h"
#include "room/room_owner.h"

namespace roomcast::mesh {

// Where an answer goes back to on the asking shard: a connection and its generation (the
// connection may have been closed and its slot reused meanwhile).
struct ReplyTo {
  uint32_t conn = 0;
  uint32_t gen = 0;
};

// How a join is served. A long-poll "join" asks for what follows a cursor; the owner counts it
// as a viewer only when it will be parked (nothing newer yet).
using JoinMode = room::Transport;  // kWs, kSse, kPoll

inline constexpr uint64_t kNoSince = UINT64_MAX;  // a join without a resume

// Ingest shard -> owner: a message to sequence.
struct PublishReq {
  std::string room, user, text, cid;
  std::string name, badges_json;  // the sender's display name and badges (JSON array), may be ""
  uint8_t roles = 0;              // the sender's auth::RoleSet in this room
  int64_t ts_ms = 0;
  ReplyTo to;
  bool http = false;
  uint8_t cors = 0;    // the answer form, returned as is
  bool prio = false;   // admin publishes only
  std::string kind;    // admin publishes only
  bool admin = false;  // a server-side publish (the admin API): no moderation checks
};

// Admin's shard -> owner: a retraction of message `target` (answered with an AckReply whose
// `target` is set).
struct RetractReq {
  std::string room;
  uint64_t target = 0;
  std::string reason, by;
  int64_t ts_ms = 0;
  ReplyTo to;
  uint8_t cors = 0;
};

// Owner -> ingest shard: the answer to a PublishReq or a RetractReq.
struct AckReply {
  ReplyTo to;
  bool http = false;
  uint8_t cors = 0;
  uint64_t seq = 0;
  std::string id, cid;
  chat::Refusal refusal = chat::Refusal::kNone;  // not kNone: nothing was sequenced
  bool duplicate = false;                        // a cid seen before: seq is the original's
  bool masked = false;   // a blocked term with the action "mask" starred part of the text
  uint64_t held_id = 0;  // not 0: held for a moderator (a blocked term's "hold"); nothing sequenced
  uint64_t target = 0;   // a retraction's answer: the retracted seq (seq: the retract event)
  uint64_t retry_ms = 0;  // a refusal that passes (rate limit, slow mode, a timeout): when
  bool sampled = false;   // sequenced, but sampled out of a hot room's live stream
  // A moderation act's answer (ModerateReq): its wire name ("ban", ...; empty for a send or a
  // retraction), and for the listings (bans, audit) the JSON object to answer with.
  std::string op;
  std::string body;
};

// Owner -> every shard with viewers of the room: a shadow-banned user's message, for that
// user's own viewers only (nothing was sequenced; its seq is the room's head).
struct ShadowEcho {
  std::string room, user, json;
};

// A moderator's shard -> owner: one moderation act (chat::ModOp), answered with an AckReply whose
// `op` is set. actor_roles: the actor's roles in the room; by_admin_key: the admin HTTP API (may
// do anything).
struct ModerateReq {
  std::string room;
  chat::ModOp op;
  std::string actor;
  uint8_t actor_roles = 0;
  bool by_admin_key = false;
  int64_t ts_ms = 0;
  ReplyTo to;
  bool http = false;
  uint8_t cors = 0;
};

// A viewer's shard -> owner: one reaction (PROTOCOL.md, "Reactions"), never a message: answered
// only when refused (an AckReply with op "react" and the refusal).
struct ReactReq {
  std::string room;
  // The user id, or for an anonymous viewer its connection ("~" and its anonymous name).
  std::string reactor;
  std::string emote;  // checked: chat::IsEmote
  ReplyTo to;
};

// Owner -> every shard with viewers of the room: an unsequenced event for all of them (a
// `reactions` window, a presence `state`, a hot room's `sampled` marker): no seq, no SSE id,
// never kept.
struct RoomEvent {
  std::string room;
  std::string type;  // the SSE event name: "reactions", "state", "sampled"
  std::string json;
  uint64_t online = 0;  // a presence state's count (viewers told it already are skipped); else 0
};

// Owner -> every shard with viewers of the room: one sequenced event. A message sampled out of
// a hot room (msg.Sampled()) is shown only to viewers whose user's tag (room::UserTag) is in
// see_tags: its sender and the users it mentions.
struct ForwardMsg {
  std::string room;
  room::SequencedMsg msg;
  std::vector<uint64_t> see_tags;
};

// Viewer's shard -> owner.
struct JoinReq {
  std::string room;
  ReplyTo to;
  uint32_t history = 0;
  JoinMode mode = JoinMode::kWs;
  uint64_t since = kNoSince;
  std::string epoch;  // the viewer's epoch, when it gave one (a different one: reset gap)
  uint32_t tag = 0;   // the viewer shard's, returned as is
  // A stream resume's next page: the viewer has every priority event up to this seq (from
  // JoinReply::prio_sent_upto); 0 for a first join.
  uint64_t prio_sent_upto = 0;
  // The viewer's key for the room's distinct-viewer count: room::HashItem of the user name, or
  // of the connection (shard, slot, generation) for an anonymous viewer; 0: none.
  uint64_t viewer = 0;
};

// Owner -> viewer's shard.
struct JoinReply {
  std::string room;
  ReplyTo to;
  JoinMode mode = JoinMode::kWs;
  uint32_t tag = 0;
  std::string epoch;
  uint64_t head = 0;
  uint64_t online = 0;
  bool counted = false;                     // the owner counts this viewer (undo with a LeaveReq)
  uint64_t gap_from = 0, gap_to = 0;        // gap_to == 0: no gap before `history` (unless reset)
  bool reset = false;                       // the viewer resumed from another epoch: a reset gap
  uint64_t last = 0;                        // the seq a poll's cursor moves to
  std::vector<room::SequencedMsg> history;  // events after the gap, priority ones first
  // A stream resume's page (not counted): more is kept after `last`; ask again with since =
  // last and this prio_sent_upto. Priority events in `history` above `last` are ahead of it.
  bool more = false;
  uint64_t prio_sent_upto = 0;
  chat::Refusal refusal = chat::Refusal::kNone;
  std::string modes_json;  // the room's modes now ({"slow_secs":N,...}), for the welcome
};

// Viewer's shard -> owner: `count` viewers of the room left.
struct LeaveReq {
  std::string room;
  uint32_t count = 1;
  JoinMode mode = JoinMode::kWs;  // how they were served (the per-transport counts)
};

// Requester's shard -> owner: a page of what the room keeps after seq `after`
// (GET /rooms/R/history?after=S&limit=N). Counts no viewer and creates no room.
struct HistoryReq {
  std::string room;
  uint64_t after = 0;
  uint32_t limit = 0;
  ReplyTo to;
  uint8_t cors = 0;
  // A snapshot build (GET /rooms/R/snapshot): the last `limit` kept messages, `after` ignored;
  // the answer goes to the shard's snapshot cache, not to one connection.
  bool latest = false;
};

// Owner -> requester's shard.
struct HistoryReply {
  ReplyTo to;
  uint8_t cors = 0;
  std::string room, epoch;  // epoch empty: no such room
  uint64_t head = 0;
  uint64_t gap_from = 0, gap_to = 0;     // gap_to == 0: no gap
  uint64_t last = 0;                     // the last seq returned or covered by the gap
  std::vector<room::SequencedMsg> msgs;  // seq order
  bool latest = false;                   // the answer to a snapshot build (HistoryReq::latest)
  uint32_t limit = 0;                    // the snapshot's limit (its cache key with the room)
  uint64_t online = 0;                   // the owner's viewer count (snapshots only)
  std::string reactions = "{}";          // the last reactions window's counts (snapshots only)
};

// Admin's shard -> owner(s): GET /admin/rooms/R (`room` set: to its owner, answered with an
// AckReply whose body is the room's report, or kNoSuchRoom) or GET /admin/rooms?top=N&by=
// (`room` empty: to every shard, each answering a RoomStatsReply with its own top N).
enum class RoomOrder : uint8_t { kOnline, kMsgs };
struct RoomStatsReq {
  std::string room;
  uint32_t top = 0;
  RoomOrder by = RoomOrder::kOnline;
  ReplyTo to;
  uint8_t cors = 0;
  uint32_t gather = 0;  // the asking shard's, returned as is
};

// One room's report ({"room","online",...}) and its sort keys.
struct RoomStatsRow {
  std::string room;
  uint64_t online = 0;
  double msgs_per_s = 0;
  std::string json;
};

// Owner -> admin's shard: one shard's top rooms (best first, at most `top`).
struct RoomStatsReply {
  ReplyTo to;
  uint8_t cors = 0;
  uint32_t gather = 0;
  std::vector<RoomStatsRow> rows;
};

// Viewer shard -> owner, about once a second: the p99 fan-out lag (ms) of each of the owner's
// rooms this shard delivered to since its last report.
struct LagReport {
  std::vector<std::pair<std::string, uint32_t>> rooms;
};

using Message = std::variant<PublishReq, RetractReq, ModerateReq, AckReply, ForwardMsg, ShadowEcho,
                             JoinReq, JoinReply, LeaveReq, HistoryReq, HistoryReply, ReactReq,
                             RoomEvent, RoomStatsReq, RoomStatsReply, LagReport>;

// A Message in a ring: the Item owns it through ptr (kind 1). Pack moves it to the heap; Unpack
// takes ownership back (null for an item that carries no Message).
inline constexpr uint32_t kMessageItem = 1;
[[nodiscard]] inline Item Pack(Message&& m) {
  return Item{kMessageItem, 0, 0, new Message(std::move(m))};
}
[[nodiscard]] inline std::unique_ptr<Message> Unpack(const Item& it) {
  return std::unique_ptr<Message>(it.kind == kMessageItem ? static_cast<Message*>(it.ptr)
                                                          : nullptr);
}

// Overloaded lambdas for std::visit.
template <typename... Fs>
struct Visitor : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Visitor(Fs...) -> Visitor<Fs...>;

}  // namespace roomcast::mesh
