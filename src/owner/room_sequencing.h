// The seam between a room's owner and who numbers its messages. Without --redis nobody is
// plugged in and the owner numbers them itself (OwnerRoom::Sequence), as it always did. With
// --redis, cluster::RedisRooms is: the owner still makes its own checks (dedup window,
// moderation), then hands the accepted message over; Redis numbers it, every node's owner of the
// room receives it from the room's channel and forwards it to its viewers. Moderation acts go
// the same way (docs/cluster.md, "Moderation"): the rules live in Redis, the events they make
// are numbered there. Owner shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "mesh/messages.h"
#include "room/room_owner.h"

namespace roomcast::owner {

// What Redis answered to a moderation event or a rules change.
struct SharedAnswer {
  enum Status { kDone, kDuplicate, kFull, kNoSuchField, kUnavailable };
  Status status = kUnavailable;
  uint64_t seq = 0;  // kDone: the event's seq (0: none); kDuplicate: the first one's
};
using SharedCallback = std::function<void(const SharedAnswer&)>;

class RoomSequencing {
 public:
  virtual ~RoomSequencing() = default;
  // The owner accepted `in` for room r (asked by shard `from`). Takes it: `ack` (filled but for
  // seq and id) is answered by the implementation once the message is numbered, or refused;
  // `done` (when given) is then told whether it was numbered (a duplicate counts as numbered).
  using SubmitDone = std::function<void(bool numbered)>;
  virtual void Submit(int from, room::OwnerRoom* r, const room::PublishInput& in,
                      mesh::AckReply&& ack, SubmitDone done = nullptr) = 0;
  // Before a join or a history ask is answered from the owner's copy of the room: true when the
  // implementation holds it until the copy is in step (it then hands it back to
  // OwnerService::OnJoin / OnHistory), false to answer now. The same for a moderation act or a
  // retraction (the copy must be in step to know what it retracts), and for a send (held only
  // until the room's rules are known here: OnPublish).
  virtual bool HoldJoin(int from, mesh::JoinReq& req) = 0;
  virtual bool HoldHistory(int from, mesh::HistoryReq& req) = 0;
  virtual bool HoldModerate(int from, mesh::ModerateReq& req) = 0;
  virtual bool HoldRetract(int from, mesh::RetractReq& req) = 0;
  virtual bool HoldPublish(int from, mesh::PublishReq& req) = 0;
  // The room's counted viewers changed (a node follows a room only while it has viewers).
  virtual void ViewersChanged(std::string_view room, uint64_t online) = 0;
  // A viewer joined (viewer: room_stats.h's hash of its key), for the fleet's distinct counts.
  virtual void ViewerSeen(std::string_view /*room*/, uint64_t /*viewer*/) {}
  // A moderation event to number: `json` is its object with 0 where its seq goes ("seq":0 of a
  // state or clear, "at":0 of a retract); kind 'e' an event, 'r' a retract of target, 'c' a
  // clear. dedup: numbered once per this id (a retraction's), "" none.
  virtual void PublishEvent(std::string_view room, const std::string& json, char kind,
                            uint64_t target, int64_t ts_ms, const std::string& dedup,
                            SharedCallback cb) = 0;
  // A change of the room's shared rules (field "b:<user>", "m" or "t": Moderator's encoding),
  // told to every node that follows the room, and the event it numbers (`event_json` as for
  // PublishEvent, kind 'e'; "" none).
  virtual void ChangeRule(std::string_view room, const std::string& field, const std::string& value,
                          bool remove, const std::string& event_json, int64_t ts_ms,
                          SharedCallback cb) = 0;
};

}  // namespace roomcast::owner
