// The seam between a room's owner and who numbers its messages. Without --redis nobody is
// plugged in and the owner numbers them itself (OwnerRoom::Sequence), as it always did. With
// --redis, cluster::RedisRooms is: the owner still makes its own checks (dedup window,
// moderation), then hands the accepted message over; Redis numbers it, every node's owner of the
// room receives it from the room's channel and forwards it to its viewers. Owner shard thread only.
#pragma once

#include <string_view>

#include "mesh/messages.h"
#include "room/room_owner.h"

namespace roomcast::owner {

class RoomSequencing {
 public:
  virtual ~RoomSequencing() = default;
  // The owner accepted `in` for room r (asked by shard `from`). Takes it: `ack` (filled but for
  // seq and id) is answered by the implementation once the message is numbered, or refused.
  virtual void Submit(int from, room::OwnerRoom* r, const room::PublishInput& in,
                      mesh::AckReply&& ack) = 0;
  // Before a join or a history ask is answered from the owner's copy of the room: true when the
  // implementation holds it until the copy is in step (it then hands it back to
  // OwnerService::OnJoin / OnHistory), false to answer now.
  virtual bool HoldJoin(int from, mesh::JoinReq& req) = 0;
  virtual bool HoldHistory(int from, mesh::HistoryReq& req) = 0;
  // The room's counted viewers changed (a node follows a room only while it has viewers).
  virtual void ViewersChanged(std::string_view room, uint64_t online) = 0;
  // A viewer joined (viewer: room_stats.h's hash of its key), for the fleet's distinct counts.
  virtual void ViewerSeen(std::string_view /*room*/, uint64_t /*viewer*/) {}
};

}  // namespace roomcast::owner
