// RoomClient: how a session reaches rooms. Every ask goes to the room's owner (another shard, or
// this one) and its answer comes back later, on this shard, to Sessions::OnAnswer (an AckReply,
// a JoinReply, a HistoryReply), addressed by the ReplyTo (connection and generation) the ask
// carried; the room's sequenced events come to Sessions::OnForward. The shard implements it over
// the mesh rings; the unit tests and the fuzz target implement it with a recorder that answers
// when the test says. Shard thread only.
#pragma once

#include "mesh/messages.h"

namespace roomcast::session {

class RoomClient {
 public:
  virtual void Publish(mesh::PublishReq&& ask) = 0;    // answered with an AckReply
  virtual void Retract(mesh::RetractReq&& ask) = 0;    // answered with an AckReply (target set)
  virtual void Moderate(mesh::ModerateReq&& ask) = 0;  // answered with an AckReply (op set)
  virtual void Join(mesh::JoinReq&& ask) = 0;          // answered with a JoinReply
  virtual void Leave(mesh::LeaveReq&& ask) = 0;        // not answered
  virtual void History(mesh::HistoryReq&& ask) = 0;    // answered with a HistoryReply
  virtual void React(mesh::ReactReq&& ask) = 0;        // answered only when refused (an AckReply)
  // To the room's owner (ask.room set: answered with an AckReply) or to every shard (ask.room
  // empty: each answers a RoomStatsReply).
  virtual void RoomStats(mesh::RoomStatsReq&& ask) = 0;
  // Fan-out lag of the rooms this shard serves, to their owners (not answered).
  virtual void ReportLag(mesh::LagReport&& rep) = 0;

 protected:
  ~RoomClient() = default;
};

// What the plain HTTP endpoints read from the server around the sessions.
class ServerStatus {
 public:
  // False while some shard's durable log cannot be written (/readyz answers 503).
  [[nodiscard]] virtual bool LogWritable() const = 0;
  // The main thread began a drain (SIGTERM): /readyz answers 503 before the shards stop.
  [[nodiscard]] virtual bool DrainNoticed() const = 0;
  // The Prometheus text of GET /metrics.
  [[nodiscard]] virtual std::string RenderMetrics() = 0;

 protected:
  ~ServerStatus() = default;
};

}  // namespace roomcast::session
