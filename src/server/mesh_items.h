// The payloads that travel between shards in mesh items (Item::ptr), one struct per ItemKind.
// The receiver owns and frees each one (Shard::FreeItem frees those nobody received).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "roomcast/room_owner.h"
#include "shard.h"

namespace roomcast::server {

struct PublishReq {
  std::string room, user, text, cid;
  int64_t ts_ms;
  ConnId conn;
  uint32_t gen;
  bool http;
  uint8_t cors;
  bool prio = false;  // admin publishes only
  std::string kind;   // admin publishes only
};

// An admin retraction of message `target` (DELETE /admin/rooms/R/messages/S); answered with an
// AckReply whose `target` is set.
struct RetractReq {
  std::string room;
  uint64_t target;
  std::string reason, by;
  int64_t ts_ms;
  ConnId conn;
  uint32_t gen;
  uint8_t cors;
};

struct AckReply {
  ConnId conn;
  uint32_t gen;
  bool http;
  uint8_t cors;
  uint64_t seq = 0;
  std::string id, cid;
  std::string error;  // non-empty: the message was not sequenced (a code, see OnAck)
  bool duplicate = false;  // a cid seen before: seq is the original's
  uint64_t target = 0;     // a retraction's answer: the retracted seq (seq: the retract event)
};

struct ForwardMsg {
  std::string room;
  room::SequencedMsg msg;
};

struct JoinReq {
  std::string room;
  ConnId conn;
  uint32_t gen;
  uint32_t history;
  JoinMode mode;
  uint64_t since;     // Shard::kNoSince: no resume
  std::string epoch;  // the viewer's epoch, when it gave one (a different one: reset gap)
  uint32_t tag;       // the viewer shard's, returned as is
};

struct JoinReply {
  std::string room;
  ConnId conn;
  uint32_t gen;
  JoinMode mode;
  uint32_t tag;
  std::string epoch;
  uint64_t head = 0;
  uint64_t online = 0;
  bool counted = false;  // the owner counts this viewer (undo with a leave)
  uint64_t gap_from = 0, gap_to = 0;  // gap_to == 0: no gap before `history` (unless reset)
  bool reset = false;                 // the viewer resumed from another epoch: a reset gap
  uint64_t last = 0;                  // the seq a poll's cursor moves to
  std::vector<room::SequencedMsg> history;  // events after the gap, priority ones first
  std::string error;
};

// GET /rooms/R/history?after=S&limit=N (history_front.cc): a page of what the room keeps.
struct HistoryReq {
  std::string room;
  uint64_t after;
  uint32_t limit;
  ConnId conn;
  uint32_t gen;
  uint8_t cors;
};

struct HistoryReply {
  ConnId conn;
  uint32_t gen;
  uint8_t cors;
  std::string room, epoch;  // epoch empty: no such room
  uint64_t head = 0;
  uint64_t gap_from = 0, gap_to = 0;  // gap_to == 0: no gap
  uint64_t last = 0;                  // the last seq returned or covered by the gap
  std::vector<room::SequencedMsg> msgs;  // seq order
};

}  // namespace roomcast::server
