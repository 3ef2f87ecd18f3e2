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
};

struct AckReply {
  ConnId conn;
  uint32_t gen;
  bool http;
  uint8_t cors;
  uint64_t seq = 0;
  std::string id, cid;
  std::string error;  // non-empty: the message was not sequenced
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
  std::string epoch;  // a poll cursor's epoch (a different one means: from seq 0)
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
  uint64_t gap_from = 0, gap_to = 0;  // gap_to == 0: no gap before `history`
  uint64_t last = 0;                  // the seq a poll's cursor moves to
  std::vector<std::string> history;   // message objects after the gap, oldest first
  std::string error;
};

}  // namespace roomcast::server
