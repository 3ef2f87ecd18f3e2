// Rooms across shards: publish goes to the room's owner shard, which sequences it, answers the
// sender's shard with an ack, and forwards the message once to every shard that has viewers of the
// room; joins and leaves keep the owner's per-shard viewer counts. Each replica's pending messages
// are flushed as one shared batch to all its local viewers. Shard thread only.
#include <ctime>

#include "batch.h"
#include "mesh_items.h"
#include "roomcast/json_writer.h"
#include "roomcast/log.h"
#include "shard.h"

namespace roomcast::server {

namespace {

int64_t UnixMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void Shard::SendToOwner(std::string_view room, uint32_t kind, uint64_t a, void* ptr) {
  mesh_.Send(room::OwnerShardOf(room, shared_->shards), mesh::Item{kind, 0, a, ptr});
}

void Shard::Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op,
                    bool admin) {
  ShardMetrics::Add(metrics_.messages_in_total, 1);
  auto* req = new PublishReq{std::string(room), admin ? op.user : UserName(c),
                             op.text,           op.cid,
                             UnixMs(),          c,
                             Sess(c).gen,       http,
                             cur_cors_,         admin && op.prio,
                             admin ? op.msg_kind : std::string()};
  SendToOwner(room, kItemPublish, 0, req);
}

void Shard::Retract(ConnId c, std::string_view room, uint64_t target, const chat::RetractBody& b) {
  SendToOwner(room, kItemRetract, 0,
              new RetractReq{std::string(room), target, b.reason, b.by, UnixMs(), c, Sess(c).gen,
                             cur_cors_});
}

void Shard::HandleItem(const mesh::Item& it) {
  const int from = static_cast<int>(it.from);
  switch (it.kind) {
    case kItemPublish:
      OnPublish(from, static_cast<PublishReq*>(it.ptr));
      break;
    case kItemAck:
      OnAck(static_cast<AckReply*>(it.ptr));
      break;
    case kItemForward:
      OnForward(static_cast<ForwardMsg*>(it.ptr));
      break;
    case kItemJoin:
      OnJoin(from, static_cast<JoinReq*>(it.ptr));
      break;
    case kItemJoinReply:
      OnJoinReply(static_cast<JoinReply*>(it.ptr));
      break;
    case kItemLeave:
      OnLeave(from, static_cast<std::string*>(it.ptr), static_cast<uint32_t>(it.a));
      break;
    case kItemRetract:
      OnRetract(from, static_cast<RetractReq*>(it.ptr));
      break;
    case kItemHistory:
      OnHistory(from, static_cast<HistoryReq*>(it.ptr));
      break;
    case kItemHistoryReply:
      OnHistoryReply(static_cast<HistoryReply*>(it.ptr));
      break;
    default:
      RC_ERROR(id_, "unknown mesh item kind %u", it.kind);
      break;
  }
}

void Shard::FreeItem(const mesh::Item& it) {
  switch (it.kind) {
    case kItemPublish:
      delete static_cast<PublishReq*>(it.ptr);
      break;
    case kItemAck:
      delete static_cast<AckReply*>(it.ptr);
      break;
    case kItemForward:
      delete static_cast<ForwardMsg*>(it.ptr);
      break;
    case kItemJoin:
      delete static_cast<JoinReq*>(it.ptr);
      break;
    case kItemJoinReply:
      delete static_cast<JoinReply*>(it.ptr);
      break;
    case kItemLeave:
      delete static_cast<std::string*>(it.ptr);
      break;
    case kItemRetract:
      delete static_cast<RetractReq*>(it.ptr);
      break;
    case kItemHistory:
      delete static_cast<HistoryReq*>(it.ptr);
      break;
    case kItemHistoryReply:
      delete static_cast<HistoryReply*>(it.ptr);
      break;
    default:
      break;
  }
}

void Shard::DiscardInFlight() {
  mesh_.DiscardAll([](const mesh::Item& it) { FreeItem(it); });
}

// --- owner side ---

void Shard::OnPublish(int from, PublishReq* req) {
  std::unique_ptr<PublishReq> own(req);
  auto* ack = new AckReply{req->conn, req->gen, req->http, req->cors};
  ack->cid = req->cid;
  if (log_ && log_->Broken()) {
    ack->error = "log_failed";
    mesh_.Send(from, mesh::Item{kItemAck, 0, 0, ack});
    return;
  }
  room::OwnerRoom* r = owned_.GetOrCreate(req->room);
  if (!r) {
    ack->error = "room_limit";
    mesh_.Send(from, mesh::Item{kItemAck, 0, 0, ack});
    return;
  }
  if (const uint64_t seen =
          dedup_.Admit(req->room, req->user, req->cid, req->ts_ms, r->LastSeq() + 1)) {
    // A resend (same user, room and cid): the original ack, once the original is written.
    ShardMetrics::Add(metrics_.messages_deduplicated_total, 1);
    ack->seq = seen;
    ack->id = req->cid;
    ack->duplicate = true;
    SendAfterLog(from, mesh::Item{kItemAck, 0, 0, ack});
    return;
  }
  room::PublishInput in{req->room, req->user, req->text, req->cid, req->ts_ms, loop_.NowMs()};
  in.prio = req->prio;
  in.kind = req->kind;
  const room::SequencedMsg& m = r->Sequence(in, /*visible=*/!log_);
  ShardMetrics::Add(metrics_.messages_sequenced_total, 1);
  if (m.Prio()) ShardMetrics::Add(metrics_.prio_sequenced_total, 1);
  ack->seq = m.seq;
  ack->id = r->MessageId(req->cid, m.seq);
  LogEvent(r, m, req->user, req->cid, 0, req->ts_ms);
  SendAfterLog(from, mesh::Item{kItemAck, 0, 0, ack});
  ForwardEvent(r, m);
}

void Shard::ForwardEvent(room::OwnerRoom* r, const room::SequencedMsg& m) {
  const auto& per_shard = r->PerShard();
  for (int s = 0; s < shared_->shards; ++s) {
    if (per_shard[static_cast<size_t>(s)] == 0) continue;
    SendAfterLog(s, mesh::Item{kItemForward, 0, 0, new ForwardMsg{r->Name(), m}});
  }
}

void Shard::OnRetract(int from, RetractReq* req) {
  std::unique_ptr<RetractReq> own(req);
  auto* ack = new AckReply{req->conn, req->gen, true, req->cors};
  ack->target = req->target;
  room::OwnerRoom* r = owned_.Find(req->room);
  const room::SequencedMsg* ev = nullptr;
  using St = room::OwnerRoom::RetractStatus;
  if (log_ && log_->Broken()) {
    ack->error = "log_failed";
  } else if (const St st = r ? r->Retract(req->target, req->reason, req->ts_ms, loop_.NowMs(),
                                          /*visible=*/!log_, &ev)
                             : St::kNotFound;
             st != St::kOk) {
    ack->error = st == St::kAlreadyRetracted ? "already_retracted"
                 : st == St::kNotAMessage    ? "not_a_message"
                 : st == St::kGone           ? "gone"
                                             : "no_such_message";
  }
  if (!ev) {
    mesh_.Send(from, mesh::Item{kItemAck, 0, 0, ack});
    return;
  }
  // The audit record: who, when, why (the log keeps it too: user = by, ts, the reason in json).
  std::string reason;
  json::AppendString(&reason, req->reason);
  RC_INFO(id_, "retract room=%s seq=%llu at=%llu by=%s reason=%s", req->room.c_str(),
          static_cast<unsigned long long>(req->target), static_cast<unsigned long long>(ev->seq),
          req->by.c_str(), reason.c_str());
  ShardMetrics::Add(metrics_.retractions_total, 1);
  ack->seq = ev->seq;
  LogEvent(r, *ev, req->by, {}, req->target, req->ts_ms);
  SendAfterLog(from, mesh::Item{kItemAck, 0, 0, ack});
  ForwardEvent(r, *ev);
}

void Shard::OnJoin(int from, JoinReq* req) {
  std::unique_ptr<JoinReq> own(req);
  auto* rep = new JoinReply{req->room, req->conn, req->gen, req->mode, req->tag};
  room::OwnerRoom* r = owned_.GetOrCreate(req->room);
  if (!r) {
    rep->error = "too many rooms on this server";
    mesh_.Send(from, mesh::Item{kItemJoinReply, 0, 0, rep});
    return;
  }
  rep->epoch = r->Epoch();
  rep->head = r->HeadSeq();
  rep->last = rep->head;
  if (req->since != kNoSince) {
    uint64_t since = req->since;
    // Another epoch (named, or a seq this epoch never reached): the viewer's seqs are void. It
    // starts this epoch from its beginning, told so with a reset gap.
    if ((!req->epoch.empty() && req->epoch != r->Epoch()) || since > r->HeadSeq()) {
      since = 0;
      rep->reset = true;
    }
    const auto cap = req->mode == JoinMode::kPoll ? room::OwnerRoom::Cap::kOldest
                                                  : room::OwnerRoom::Cap::kNewest;
    room::OwnerRoom::SinceResult res = r->Since(since, cfg_.max_history_request, cap);
    rep->gap_from = rep->reset ? 1 : res.gap_from;
    rep->gap_to = res.gap_to;
    rep->history = std::move(res.msgs);
    rep->last = res.last;
  } else if (req->history) {
    rep->history = r->Recent(req->history);
  }
  // A poll is parked (and counted) only when it has nothing to take away yet; a first poll
  // (no cursor) is always answered at once.
  rep->counted = req->mode != JoinMode::kPoll ||
                 (req->since != kNoSince && rep->history.empty() && rep->gap_to == 0 &&
                  !rep->reset);
  if (rep->counted) r->AddViewers(from, 1);
  rep->online = r->Online();
  mesh_.Send(from, mesh::Item{kItemJoinReply, 0, 0, rep});
}

void Shard::OnLeave(int from, std::string* room, uint32_t count) {
  std::unique_ptr<std::string> own(room);
  if (room::OwnerRoom* r = owned_.Find(*room)) r->RemoveViewers(from, count);
}

// --- viewer side ---

namespace {

// An owner's refusal, as (HTTP status, protocol code, message).
struct AckError {
  int status;
  std::string_view code;
  std::string_view message;
};

AckError DescribeAckError(const std::string& e) {
  if (e == "room_limit") return {503, "unavailable", "the room could not be created (room limit)"};
  if (e == "log_failed") {
    return {503, "unavailable", "the message log cannot be written: nothing is accepted"};
  }
  if (e == "no_such_message") return {404, "not_found", "no such message in this room"};
  if (e == "already_retracted") return {409, "already_retracted", "already retracted"};
  if (e == "not_a_message") return {409, "not_a_message", "that seq is a retraction"};
  if (e == "gone") {
    return {410, "gone", "that message is older than the history kept: it is no longer served"};
  }
  return {500, "internal", e};
}

}  // namespace

void Shard::OnAck(AckReply* ack) {
  std::unique_ptr<AckReply> own(ack);
  Session& s = Sess(ack->conn);
  if (s.gen != ack->gen || s.kind == SessKind::kFree) return;  // the sender left meanwhile
  if (!ack->http) {
    if (!ack->error.empty()) {
      SendWsError(ack->conn, DescribeAckError(ack->error).code,
                  DescribeAckError(ack->error).message);
      return;
    }
    std::string j = R"({"type":"ack","cid":)";
    json::AppendString(&j, ack->cid);
    j += R"(,"seq":)";
    json::AppendUint(&j, ack->seq);
    j += R"(,"id":)";
    json::AppendString(&j, ack->id);
    if (ack->duplicate) j += R"(,"duplicate":true)";
    j += '}';
    SendWsText(ack->conn, j);
    return;
  }
  s.flags &= static_cast<uint8_t>(~kAwaitingAck);
  const bool keep_alive = !(s.flags & kClosingSess);
  cur_cors_ = ack->cors;
  if (!ack->error.empty()) {
    const AckError e = DescribeAckError(ack->error);
    s.flags &= static_cast<uint8_t>(~kClosingSess);
    RespondError(ack->conn, e.status, e.code, e.message, keep_alive);
  } else {
    std::string body;
    if (ack->target != 0) {
      body = R"({"retracted":)";
      json::AppendUint(&body, ack->target);
      body += R"(,"seq":)";
      json::AppendUint(&body, ack->seq);
    } else {
      body = R"({"seq":)";
      json::AppendUint(&body, ack->seq);
      body += R"(,"id":)";
      json::AppendString(&body, ack->id);
      if (ack->duplicate) body += R"(,"duplicate":true)";
    }
    body += '}';
    s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
    RespondHttp(ack->conn,
                http::BuildResponse(200, "application/json", body, keep_alive,
                                    CorsHeaders(cur_cors_)),
                keep_alive);
  }
  if (keep_alive) ResumeHeldInput(ack->conn);
}

void Shard::OnForward(ForwardMsg* fwd) {
  std::unique_ptr<ForwardMsg> own(fwd);
  uint32_t idx = replicas_.Find(fwd->room);
  if (!poll_rooms_.empty()) NotePollHead(fwd->room, fwd->msg.seq);
  if (idx == room::kNoReplica) return;  // our last viewer left while this was on its way
  replicas_.Deliver(idx, std::move(fwd->msg));
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
  SendToOwner(room, kItemJoin, 0,
              new JoinReq{std::string(room), c, s.gen, history, mode, since, std::string(epoch),
                          tag});
}

void Shard::OnJoinReply(JoinReply* rep) {
  uint32_t idx = replicas_.Find(rep->room);
  if (idx == room::kNoReplica) {
    RC_ERROR(id_, "join reply for room %s without a replica", rep->room.c_str());
    delete rep;
    return;
  }
  room::Replica& r = replicas_.At(idx);
  if (r.joining > 0) r.joining--;
  if (rep->error.empty()) r.epoch = rep->epoch;
  Session& s = Sess(rep->conn);
  const SessKind want = rep->mode == JoinMode::kWs    ? SessKind::kWsJoining
                        : rep->mode == JoinMode::kSse ? SessKind::kSseJoining
                                                      : SessKind::kPollJoining;
  if (s.gen != rep->gen || s.kind != want || (s.flags & kClosingSess)) {
    // The viewer left before the owner answered: undo the owner's count.
    if (rep->error.empty() && rep->counted) {
      SendToOwner(rep->room, kItemLeave, 1, new std::string(rep->room));
    }
    if (s.gen == rep->gen) s.replica = room::kNoReplica;
    replicas_.ReleaseIfUnused(idx);
    delete rep;
    return;
  }
  if (!rep->error.empty()) {  // the owner refused (room limit): each front answers its way
    s.replica = room::kNoReplica;
    replicas_.ReleaseIfUnused(idx);
  }
  if (rep->mode == JoinMode::kPoll) return OnPollReply(rep);
  if (rep->mode == JoinMode::kSse) return OnSseReply(rep);
  OnWsReply(rep);
}

std::string Shard::WelcomeJson(const JoinReply& rep) {
  std::string j = R"({"type":"welcome","room":)";
  json::AppendString(&j, rep.room);
  j += R"(,"epoch":)";
  json::AppendString(&j, rep.epoch);
  j += R"(,"seq":)";
  json::AppendUint(&j, rep.head);
  j += R"(,"online":)";
  json::AppendUint(&j, rep.online);
  j += R"(,"modes":{"slow_secs":0,"subscribers_only":false,"emote_only":false},"user":)";
  json::AppendString(&j, UserName(rep.conn));
  j += '}';
  return j;
}

void Shard::AppendJoinBacklog(JoinReply* rep, bool sse, std::string* out) {
  const Framing f = sse ? Framing::kSse : Framing::kWebSocket;
  if (rep->gap_to != 0 || rep->reset) {
    EncodeObject(frame_writer_, f, "gap", rep->gap_to,
                 GapJson(rep->room, rep->gap_from, rep->gap_to,
                         rep->reset ? std::string_view(rep->epoch) : std::string_view{}),
                 out);
  }
  EncodeBatch(frame_writer_, f, rep->history, out, rep->gap_to);
}

void Shard::OnWsReply(JoinReply* rep) {
  std::unique_ptr<JoinReply> own(rep);
  const uint32_t idx = replicas_.Find(rep->room);
  Session& s = Sess(rep->conn);
  if (!rep->error.empty()) {
    SendWsError(rep->conn, "unavailable", rep->error);
    CloseWs(rep->conn, ws::CloseCode::kInternalError, "room unavailable");
    return;
  }
  // Messages already waiting in the replica were sequenced before this join (the owner answered
  // the join after forwarding them): they go to the viewers that were here before, not to this
  // one, whose history and live stream start after HEAD.
  if (!replicas_.At(idx).pending.empty()) FlushReplica(idx);
  s.viewer_pos = replicas_.AddViewer(idx, rep->conn);
  s.kind = SessKind::kWs;
  ++ws_viewers_;
  std::string frames;
  frame_writer_.Append(&frames, ws::Opcode::kText, WelcomeJson(*rep));
  AppendJoinBacklog(rep, false, &frames);
  loop_.EnqueueCopy(rep->conn, std::move(frames));
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
  SendToOwner(r.name, kItemLeave, 1, new std::string(r.name));
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
    FanoutResult one = FanOutBatch(frame_writer_, f, r.name, r.pending, r.recent_prio, viewers, cfg_.slow_policy,
                                   cfg_.max_queue_bytes, queues);
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
