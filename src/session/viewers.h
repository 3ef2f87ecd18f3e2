// The viewer side of rooms on one shard: the room replicas (who watches which room here, and the
// sequenced events waiting for the next batch), joins and their answers, stream resumes caught up
// in pages (catch_up.h), and the flush of a replica's batch to its WebSocket and SSE viewers
// (room::FanOutBatch through the ConnOutput). Parked long-polls live in the same replicas but
// are PollSession's. Shard thread only.
//
// A join: StartJoin puts the session in its kind's joining state (kWsJoining, kSseJoining,
// kPollJoining), holds the replica (Replica::joining) and asks the owner through the RoomClient.
// The answer (OnJoinReply) releases that hold and tells the caller whether the session still
// waits for it; the protocol handler then makes it a viewer (AddStreamViewer: kWs / kSse) or
// answers its way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catch_up.h"
#include "context.h"
#include "room/fanout.h"
#include "room/room_replica.h"

namespace roomcast::session {

// Who answers a replica's parked long-polls at a flush (PollSession).
class ParkedPolls {
 public:
  virtual void FlushPollers(uint32_t idx) = 0;

 protected:
  ~ParkedPolls() = default;
};

class Viewers {
 public:
  Viewers(Context* ctx, room::PacingPolicy pacing, ParkedPolls* polls)
      : ctx_(*ctx), polls_(*polls), replicas_(pacing) {}

  room::Replicas& Replicas() { return replicas_; }

  // Asks the room's owner to join (or, for a poll, for what follows `since`). since ==
  // kNoSince: no resume. `epoch`: the viewer's (a cursor's or ?epoch=). `tag`: a poll's form.
  void StartJoin(ConnId c, std::string_view room, uint32_t history, mesh::JoinMode mode,
                 uint64_t since = kNoSince, std::string_view epoch = {}, uint32_t tag = 0);
  // The owner answered a join: releases the join's hold on the replica. False when the session
  // no longer waits for it (the count it took is undone); then nothing else is to be done.
  [[nodiscard]] bool OnJoinReply(const mesh::JoinReply& rep);
  // A stream join was answered (not refused): `out` holds the welcome (first answer only). A
  // page (rep.more) is queued and the next one asked for; the last answer makes the session a
  // live viewer of the replica (kWs or kSse) and queues the backlog after the welcome.
  void AddStreamViewer(const mesh::JoinReply& rep, room::Framing framing, std::string out);
  // The welcome object of a join's first answer.
  [[nodiscard]] std::string WelcomeJson(const mesh::JoinReply& rep);
  // The frames (or events) a joining stream viewer gets after its welcome.
  void AppendJoinBacklog(const mesh::JoinReply& rep, bool sse, std::string* out);
  // A WebSocket or SSE viewer leaves its replica's list.
  void RemoveStreamViewer(ConnId c);
  // The session leaves its room: the owner is told, the replica released if unused.
  void LeaveReplica(ConnId c);
  // An event sequenced by the room's owner.
  void OnForward(mesh::ForwardMsg& fwd);
  // Queues echo.json on the WebSocket and SSE viewers of echo.room whose user is echo.user
  // (a scan of the room's local viewers: shadow-banned sends are rare).
  void EchoToUser(const mesh::ShadowEcho& echo);
  // An unsequenced room event (reactions, presence state): encoded once per framing and queued
  // on every WebSocket and SSE viewer of the room here whose queue has room for it (it is only
  // news of now: a viewer over its bound just misses it), except, for a presence state, those
  // already told that count. Long-poll viewers do not get them.
  void Broadcast(const mesh::RoomEvent& ev);
  // The replica's batch: its pending events encoded once per framing and queued on its stream
  // viewers, then its parked polls answered (ParkedPolls); the pending list is emptied.
  void FlushReplica(uint32_t idx);
  // Once a second: the p99 fan-out lag of each room delivered to since the last report, to the
  // rooms' owners (room::RoomStats::NoteLag); one entry per such room, then forgotten.
  void ReportLag();

  // Stream resumes in pages (catch_up.h).
  [[nodiscard]] bool CatchingUp(ConnId c) const { return catchups_.count(c) != 0; }
  void QueueCatchUpPage(const mesh::JoinReply& rep, bool sse, std::string out);
  // Asks the owner for the next page if the connection has room for it (on a drained queue too).
  void AskNextPage(ConnId c);
  // The catch-up ended (its last answer, a refusal, or the viewer left): drops its hold.
  void EndCatchUp(ConnId c);
  [[nodiscard]] bool AnyCatchUp() const { return !catchups_.empty(); }

  // For /metrics.
  [[nodiscard]] size_t ReplicaCount() const { return replicas_.Count(); }
  [[nodiscard]] uint64_t WsViewers() const { return ws_viewers_; }
  [[nodiscard]] uint64_t SseViewers() const { return sse_viewers_; }
  [[nodiscard]] size_t CatchUps() const { return catchups_.size(); }
  [[nodiscard]] uint64_t CatchUpQueuePeak() const { return catchup_queue_peak_; }

 private:
  // Queues the pending messages sampled out of the live stream on the viewers of their sender
  // and of the users they mention (viewers_hot.cc), after the shared batch.
  void DeliverSampled(uint32_t idx);

  Context& ctx_;
  ParkedPolls& polls_;
  room::Replicas replicas_;
  uint64_t ws_viewers_ = 0;
  uint64_t sse_viewers_ = 0;
  // Stream resumes catching up, by connection (one page in flight each at most).
  std::unordered_map<ConnId, CatchUp> catchups_;
  uint64_t catchup_queue_peak_ = 0;  // the largest send queue a page left behind (/metrics)
  std::vector<uint32_t> lag_rooms_;  // replicas with lag observed since the last ReportLag
  // The distinct-viewer key of a joining connection (mesh::JoinReq::viewer).
  uint64_t ViewerKey(ConnId c);
};

}  // namespace roomcast::session
