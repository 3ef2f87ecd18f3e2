// Rooms across shards, the viewer side: publishes, retractions, joins and leaves go to the room's
// owner shard as typed mesh messages (decided there by owner::OwnerService); its acks, join
// replies and forwards come back here. Each replica's pending messages are flushed as one shared
// batch to all its local viewers. Shard thread only.
#include <ctime>

#include "base/json_writer.h"
#include "base/log.h"
#include "room/fanout.h"
#include "shard.h"
#include "sse/sse_event.h"

namespace roomcast::server {

namespace {

int64_t UnixMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void Shard::SendToOwner(std::string_view room, mesh::Message&& msg) {
  mesh_.Send(room::OwnerShardOf(room, shared_->shards), mesh::Pack(std::move(msg)));
}

void Shard::Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op,
                    bool admin, uint8_t cors) {
  ShardMetrics::Add(metrics_.messages_in_total, 1);
  mesh::PublishReq req;
  req.room = room;
  req.user = admin ? op.user : sessions_.UserName(c);
  req.text = op.text;
  req.cid = op.cid;
  req.ts_ms = UnixMs();
  req.to = {c, Sess(c).gen};
  req.http = http;
  req.cors = cors;
  req.prio = admin && op.prio;
  if (admin) req.kind = op.msg_kind;
  SendToOwner(room, std::move(req));
}

void Shard::Retract(ConnId c, std::string_view room, uint64_t target, const chat::RetractBody& b,
                    uint8_t cors) {
  SendToOwner(room,
              mesh::RetractReq{
                  std::string(room), target, b.reason, b.by, UnixMs(), {c, Sess(c).gen}, cors});
}

void Shard::HandleMessage(int from, mesh::Message& msg) {
  const uint64_t now = loop_.NowMs();
  std::visit(mesh::Visitor{
                 [&](mesh::PublishReq& m) { owner_.OnPublish(from, m, now); },
                 [&](mesh::RetractReq& m) { owner_.OnRetract(from, m, now); },
                 [&](mesh::JoinReq& m) { owner_.OnJoin(from, m); },
                 [&](mesh::LeaveReq& m) { owner_.OnLeave(from, m); },
                 [&](mesh::AckReply& m) { OnAck(m); },
                 [&](mesh::ForwardMsg& m) { OnForward(m); },
                 [&](mesh::JoinReply& m) { OnJoinReply(m); },
                 [&](mesh::HistoryReq& m) { owner_.OnHistory(from, m); },
                 [&](mesh::HistoryReply& m) { OnHistoryReply(m); },
             },
             msg);
}

void Shard::DiscardInFlight() {
  mesh_.DiscardAll([](const mesh::Item& it) { (void)mesh::Unpack(it); });
}

// --- viewer side ---

void Shard::OnAck(mesh::AckReply& ack) {
  Session& s = Sess(ack.to.conn);
  if (s.gen != ack.to.gen || s.kind == SessKind::kFree) return;  // the sender left meanwhile
  if (!ack.http) {
    if (ack.refusal != chat::Refusal::kNone) {
      const chat::RefusalInfo& e = chat::Describe(ack.refusal);
      SendWsError(ack.to.conn, e.code, e.text);
      return;
    }
    std::string j = R"({"type":"ack","cid":)";
    json::AppendString(&j, ack.cid);
    j += R"(,"seq":)";
    json::AppendUint(&j, ack.seq);
    j += R"(,"id":)";
    json::AppendString(&j, ack.id);
    if (ack.duplicate) j += R"(,"duplicate":true)";
    j += '}';
    SendWsText(ack.to.conn, j);
    return;
  }
  s.flags &= static_cast<uint8_t>(~kAwaitingAck);
  const bool keep_alive = !(s.flags & kClosingSess);
  const AnswerForm form{keep_alive, ack.cors};
  if (ack.refusal != chat::Refusal::kNone) {
    const chat::RefusalInfo& e = chat::Describe(ack.refusal);
    s.flags &= static_cast<uint8_t>(~kClosingSess);
    RespondError(ack.to.conn, form, e.http_status, e.code, e.text);
  } else {
    std::string body;
    if (ack.target != 0) {
      body = R"({"retracted":)";
      json::AppendUint(&body, ack.target);
      body += R"(,"seq":)";
      json::AppendUint(&body, ack.seq);
    } else {
      body = R"({"seq":)";
      json::AppendUint(&body, ack.seq);
      body += R"(,"id":)";
      json::AppendString(&body, ack.id);
      if (ack.duplicate) body += R"(,"duplicate":true)";
    }
    body += '}';
    s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
    RespondHttp(
        ack.to.conn,
        http::BuildResponse(200, "application/json", body, keep_alive, CorsHeaders(form.cors)),
        keep_alive);
  }
  if (keep_alive) ResumeHeldInput(ack.to.conn);
}

void Shard::OnForward(mesh::ForwardMsg& fwd) {
  uint32_t idx = replicas_.Find(fwd.room);
  if (!poll_rooms_.empty()) NotePollHead(fwd.room, fwd.msg.seq);
  if (idx == room::kNoReplica) return;  // our last viewer left while this was on its way
  replicas_.Deliver(idx, std::move(fwd.msg));
}

void Shard::StartJoin(ConnId c, std::string_view room, uint32_t history, JoinMode mode,
                      uint64_t since, std::string_view epoch, uint32_t tag) {
  Session& s = Sess(c);
  uint32_t idx = replicas_.GetOrCreate(room);
  replicas_.At(idx).joining++;
  s.replica = idx;
  s.kind = mode == JoinMode::kWs    ? SessKind::kWsJoining
           : mode == JoinMode::kSse ? SessKind::kSseJoining
                                    : SessKind::kPollJoining;
  SendToOwner(
      room,
      mesh::JoinReq{std::string(room), {c, s.gen}, history, mode, since, std::string(epoch), tag});
}

void Shard::OnJoinReply(mesh::JoinReply& rep) {
  uint32_t idx = replicas_.Find(rep.room);
  if (idx == room::kNoReplica) {
    RC_ERROR(id_, "join reply for room %s without a replica", rep.room.c_str());
    return;
  }
  room::Replica& r = replicas_.At(idx);
  if (r.joining > 0) r.joining--;
  const bool refused = rep.refusal != chat::Refusal::kNone;
  if (!refused) r.epoch = rep.epoch;
  Session& s = Sess(rep.to.conn);
  const SessKind want = rep.mode == JoinMode::kWs    ? SessKind::kWsJoining
                        : rep.mode == JoinMode::kSse ? SessKind::kSseJoining
                                                     : SessKind::kPollJoining;
  if (s.gen != rep.to.gen || s.kind != want || (s.flags & kClosingSess)) {
    // The viewer left before the owner answered: undo the owner's count.
    if (!refused && rep.counted) SendToOwner(rep.room, mesh::LeaveReq{rep.room, 1});
    if (s.gen == rep.to.gen) s.replica = room::kNoReplica;
    replicas_.ReleaseIfUnused(idx);
    return;
  }
  if (refused) {  // the owner refused (room limit): each front answers its way
    s.replica = room::kNoReplica;
    replicas_.ReleaseIfUnused(idx);
  }
  if (rep.mode == JoinMode::kPoll) return OnPollReply(rep);
  if (rep.mode == JoinMode::kSse) return OnSseReply(rep);
  OnWsReply(rep);
}

std::string Shard::WelcomeJson(const mesh::JoinReply& rep) {
  std::string j = R"({"type":"welcome","room":)";
  json::AppendString(&j, rep.room);
  j += R"(,"epoch":)";
  json::AppendString(&j, rep.epoch);
  j += R"(,"seq":)";
  json::AppendUint(&j, rep.head);
  j += R"(,"online":)";
  json::AppendUint(&j, rep.online);
  j += R"(,"modes":{"slow_secs":0,"subscribers_only":false,"emote_only":false},"user":)";
  json::AppendString(&j, sessions_.UserName(rep.to.conn));
  j += '}';
  return j;
}

void Shard::AppendJoinBacklog(const mesh::JoinReply& rep, bool sse, std::string* out) {
  const Framing f = sse ? Framing::kSse : Framing::kWebSocket;
  if (rep.gap_to != 0 || rep.reset) {
    const std::string gap =
        room::GapJson(rep.room, rep.gap_from, rep.gap_to,
                      rep.reset ? std::string_view(rep.epoch) : std::string_view{});
    if (sse && rep.reset) {
      // A reset gap's id names the new epoch even at seq 0: a reconnect resumes inside it.
      sse::AppendEvent(out, "gap", true, rep.gap_to, gap, rep.epoch);
    } else {
      EncodeObject(frame_writer_, f, "gap", rep.gap_to, gap, out, rep.epoch);
    }
  }
  // rep.last: a catch-up page's priority events above it are ahead of ordinary ones to come.
  EncodeBatch(frame_writer_, f, rep.history, out, rep.epoch, rep.gap_to, rep.last);
}

void Shard::OnWsReply(mesh::JoinReply& rep) {
  const uint32_t idx = replicas_.Find(rep.room);
  Session& s = Sess(rep.to.conn);
  if (rep.refusal != chat::Refusal::kNone) {
    EndCatchUp(rep.to.conn);
    SendWsError(rep.to.conn, "unavailable", chat::Describe(rep.refusal).text);
    CloseWs(rep.to.conn, ws::CloseCode::kInternalError, "room unavailable");
    return;
  }
  // The welcome comes first, once: with the first answer, page or not.
  std::string frames;
  if (!CatchingUp(rep.to.conn)) frame_writer_.Append(&frames, ws::Opcode::kText, WelcomeJson(rep));
  if (rep.more) return QueueCatchUpPage(rep, false, std::move(frames));
  // Messages already waiting in the replica were sequenced before this join (the owner answered
  // the join after forwarding them): they go to the viewers that were here before, not to this
  // one, whose history and live stream start after HEAD.
  if (!replicas_.At(idx).pending.empty()) FlushReplica(idx);
  s.viewer_pos = replicas_.AddViewer(idx, rep.to.conn);
  s.kind = SessKind::kWs;
  ++ws_viewers_;
  EndCatchUp(rep.to.conn);  // after AddViewer: the replica stays
  AppendJoinBacklog(rep, false, &frames);
  loop_.EnqueueCopy(rep.to.conn, std::move(frames));
}

void Shard::LeaveRoom(ConnId c) {
  Session& s = Sess(c);
  if (s.replica == room::kNoReplica) return;
  const uint32_t idx = s.replica;
  room::Replica& r = replicas_.At(idx);
  if (s.kind == SessKind::kPollParked) {
    RemoveParked(c);
  } else {
    const auto list = s.kind == SessKind::kSse ? room::ViewerList::kSse : room::ViewerList::kWs;
    ConnId moved = replicas_.RemoveViewer(idx, s.viewer_pos, list);
    if (moved != c) Sess(moved).viewer_pos = s.viewer_pos;
    --(s.kind == SessKind::kSse ? sse_viewers_ : ws_viewers_);
  }
  SendToOwner(r.name, mesh::LeaveReq{r.name, 1});
  s.replica = room::kNoReplica;
  replicas_.ReleaseIfUnused(idx);
}

// The shard's connections as the batcher sees them.
class ShardViewerQueues final : public ViewerQueues {
 public:
  explicit ShardViewerQueues(io::Loop& loop) : loop_(loop) {}
  uint32_t QueuedBytes(room::ViewerId v) override { return loop_.QueuedBytes(v); }
  void Enqueue(room::ViewerId v, SharedBuf* buf) override { loop_.Enqueue(v, buf); }
  uint32_t DropUnsent(room::ViewerId v, uint64_t* first, uint64_t* last) override {
    uint32_t kept = 0;
    loop_.DropUnsent(v, first, last, &kept);
    return kept;
  }
  void CloseSlow(room::ViewerId v) override { loop_.Close(v, io::CloseMode::kAbort); }

 private:
  io::Loop& loop_;
};

void Shard::FlushReplica(uint32_t idx) {
  room::Replica& r = replicas_.At(idx);
  r.dirty = false;
  if (r.pending.empty()) return;
  if (room::Replicas::Audience(r) == 0) {
    r.pending.clear();
    return;
  }
  const uint64_t now = loop_.NowMs();
  for (const room::SequencedMsg& m : r.pending) {
    metrics_.ObserveFanoutDelay(now > m.sequenced_ms ? now - m.sequenced_ms : 0);
  }
  ShardViewerQueues queues(loop_);
  FanoutResult res;
  for (const Framing f : {Framing::kWebSocket, Framing::kSse}) {
    const auto& viewers = f == Framing::kSse ? r.sse : r.viewers;
    if (viewers.empty()) continue;
    FanoutResult one = FanOutBatch(frame_writer_, f, r.name, r.epoch, r.pending, r.recent_prio,
                                   viewers, cfg_.slow_policy, cfg_.max_queue_bytes, queues);
    res.delivered += one.delivered;
    res.skipped += one.skipped;
    res.closed += one.closed;
  }
  ShardMetrics::Add(metrics_.deliveries_total, res.delivered * r.pending.size());
  ShardMetrics::Add(metrics_.batches_total, 1);
  ShardMetrics::Add(metrics_.slow_skips_total, res.skipped);
  ShardMetrics::Add(metrics_.slow_closes_total, res.closed);
  if (!r.pollers.empty()) FlushPollers(idx);  // may re-enter: handles held requests last
  replicas_.At(idx).pending.clear();
}

}  // namespace roomcast::server
