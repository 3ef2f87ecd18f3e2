// Sessions (sessions.h): input dispatch by connection state, held input, the once-a-second
// sweep, the owner's answers to each handler, and the drain. Shard thread only.
#include "sessions.h"

#include <algorithm>
#include <cstring>

#include "base/json_writer.h"
#include "base/log.h"
#include "sse/sse_event.h"

namespace roomcast::session {

Sessions::Sessions(const Config& cfg, const SessionOptions& o, ConnOutput* out, RoomClient* rooms,
                   ServerStatus* status, ShardMetrics* metrics)
    : ctx_(cfg, o, out, rooms, status, metrics, this),
      poll_(&ctx_, o.cursor_key),
      viewers_(&ctx_, o.pacing, &poll_),
      ws_(&ctx_, &viewers_),
      sse_(&ctx_, &viewers_),
      admin_(&ctx_),
      http_(&ctx_, &ws_, &sse_, &poll_, &admin_) {
  poll_.SetViewers(&viewers_);
}

void Sessions::OnAccept(ConnId c) { ctx_.table.Open(c, ctx_.clock_s); }

void Sessions::Refuse(ConnId c) {
  ctx_.Sess(c).kind = SessKind::kRefused;
  ctx_.out.EnqueueCopy(c, http::BuildJsonError(503, ctx_.draining ? "draining" : "server_full",
                                               "no capacity here; retry later", false));
  ctx_.CountAnswer(c, 503);
  ctx_.out.Close(c, CloseMode::kGraceful);
}

void Sessions::RefusePerAddress(ConnId c) {
  ctx_.Sess(c).kind = SessKind::kRefused;
  ctx_.out.EnqueueCopy(c, http::BuildJsonError(503, "too_many_connections",
                                               "this address holds --max-conns-per-ip "
                                               "connections; close one or retry later",
                                               false));
  ctx_.CountAnswer(c, 503);
  ctx_.out.Close(c, CloseMode::kGraceful);
}

void Sessions::OnRecv(ConnId c, std::span<const uint8_t> data) {
  Session& s = ctx_.Sess(c);
  if (s.kind == SessKind::kFree || s.kind == SessKind::kRefused || (s.flags & kClosingSess)) return;
  s.last_active = ctx_.clock_s;
  s.flags &= static_cast<uint8_t>(~kPinged);
  ShardMetrics::Add(ctx_.metrics.bytes_in_total, data.size());
  if (s.pending && !s.pending->input.empty()) {
    // Join the held tail with the new bytes; the limits below bound how much is ever held.
    std::string buf = std::move(s.pending->input);
    s.pending->input.clear();
    buf.append(reinterpret_cast<const char*>(data.data()), data.size());
    ProcessInput(c, {reinterpret_cast<const uint8_t*>(buf.data()), buf.size()});
    return;
  }
  ProcessInput(c, data);
}

void Sessions::ProcessInput(ConnId c, std::span<const uint8_t> data) {
  size_t off = 0;
  while (off < data.size()) {
    Session& s = ctx_.Sess(c);
    if (s.flags & kClosingSess) return;
    size_t used = 0;
    if (s.kind == SessKind::kHttp) {
      if (s.flags & kAwaitingAck) break;  // pipelined input waits for the pending answer
      used = http_.Process(c, data.subspan(off));
    } else if (s.kind == SessKind::kWs || s.kind == SessKind::kWsJoining) {
      used = ws_.Process(c, data.subspan(off));
    } else if (s.kind == SessKind::kPollJoining || s.kind == SessKind::kPollParked) {
      break;  // a request pipelined behind a poll waits for the poll's answer
    } else {
      return;  // SSE streams and refused connections: a client has nothing to say here
    }
    if (used == 0) break;
    off += used;
  }
  Session& s = ctx_.Sess(c);
  if (s.flags & kClosingSess) return;
  if (off > 0 && s.pending) s.pending->partial_request = false;  // what is left starts a new one
  SetPendingInput(c, data.subspan(off));
}

void Sessions::ResumeHeldInput(ConnId c) {
  Session& s = ctx_.Sess(c);
  if (s.kind != SessKind::kHttp || !s.pending || s.pending->input.empty()) return;
  std::string held = std::move(s.pending->input);
  s.pending->input.clear();
  ProcessInput(c, {reinterpret_cast<const uint8_t*>(held.data()), held.size()});
}

void Sessions::SetPendingInput(ConnId c, std::span<const uint8_t> rest) {
  Session& s = ctx_.Sess(c);
  if (rest.empty()) {
    if (s.pending && !s.pending->assembling) {
      s.pending.reset();
    } else if (s.pending) {
      s.pending->input.clear();
      s.pending->partial_request = false;
    }
    return;
  }
  const Config& cfg = ctx_.cfg;
  // A PUT being read may be a term list, whose body may pass --max-body (MaxBodyOf; its head,
  // once read, says whether it is one, and HttpSession refuses any other too-large body).
  const bool put_being_read =
      !(s.flags & kAwaitingAck) && rest.size() >= 4 && std::memcmp(rest.data(), "PUT ", 4) == 0;
  const size_t max_body =
      put_being_read ? std::max<size_t>(cfg.max_body, kMaxTermListBody) : cfg.max_body;
  if (rest.size() > cfg.max_head + max_body + cfg.max_frame + 16) {
    // More held input than any single request or frame can need: a misbehaving client.
    s.flags |= kClosingSess;
    if (s.kind == SessKind::kHttp && (s.flags & kAwaitingAck)) {
      // Pipelined behind a send that is being answered: that send was taken, so it gets its
      // answer (OnAck sees kClosingSess and closes after it); what was held was never read and
      // is dropped, for the client to send again on a new connection.
      RC_DEBUG(ctx_.shard, "conn %u: %zu bytes pipelined behind a send: answering it, then closing",
               c, rest.size());
      s.pending.reset();
      return;
    }
    RC_DEBUG(ctx_.shard, "conn %u: %zu bytes of held input, closing", c, rest.size());
    ctx_.out.Close(c, CloseMode::kAbort);
    return;
  }
  PendingInput& p = SessionTable::Pending(s);
  if (!p.partial_request) {
    p.partial_request = true;
    p.since_s = ctx_.clock_s;
  }
  p.input.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
}

void Sessions::OnPeerGone(ConnId c) { ctx_.Sess(c).flags |= kClosingSess; }

void Sessions::OnSendDrained(ConnId c) {
  if (viewers_.AnyCatchUp()) viewers_.AskNextPage(c);
}

void Sessions::OnClosed(ConnId c) {
  const Session& s = ctx_.Sess(c);
  if (s.kind == SessKind::kWs || s.kind == SessKind::kSse || s.kind == SessKind::kPollParked) {
    LeaveRoom(c);
  }
  if (viewers_.AnyCatchUp()) viewers_.EndCatchUp(c);
  ctx_.access.Closed(c);
  ctx_.table.Release(c);
}

void Sessions::LeaveRoom(ConnId c) {
  const Session& s = ctx_.Sess(c);
  if (s.replica == room::kNoReplica) return;
  if (s.kind == SessKind::kPollParked) {
    poll_.RemoveParked(c);
  } else {
    viewers_.RemoveStreamViewer(c);
  }
  viewers_.LeaveReplica(c);
}

void Sessions::OnAnswer(mesh::AckReply& ack) {
  const Session& s = ctx_.Sess(ack.to.conn);
  if (s.gen != ack.to.gen || s.kind == SessKind::kFree) return;  // the sender left meanwhile
  if (ack.http) return http_.OnAck(ack);
  ws_.OnAck(ack);
}

void Sessions::OnAnswer(mesh::JoinReply& rep) {
  if (!viewers_.OnJoinReply(rep)) return;
  switch (rep.mode) {
    case mesh::JoinMode::kPoll:
      return poll_.OnJoinReply(rep);
    case mesh::JoinMode::kSse:
      return sse_.OnJoinReply(rep);
    case mesh::JoinMode::kWs:
      return ws_.OnJoinReply(rep);
  }
}

void Sessions::OnAnswer(mesh::HistoryReply& rep) {
  if (rep.latest) return http_.OnSnapshotReply(rep);  // answers every waiter, not one connection
  const Session& s = ctx_.Sess(rep.to.conn);
  if (s.gen != rep.to.gen || s.kind != SessKind::kHttp) return;  // the client left meanwhile
  http_.OnHistoryReply(rep);
}

void Sessions::OnForward(mesh::ForwardMsg& fwd) {
  if (!poll_.Rooms().Empty()) poll_.Rooms().NoteHead(fwd.room, fwd.msg.seq, ctx_.out.NowMs());
  viewers_.OnForward(fwd);
}

void Sessions::OnShadowEcho(const mesh::ShadowEcho& echo) { viewers_.EchoToUser(echo); }

void Sessions::OnRoomNotice(const mesh::RoomNotice& notice) { viewers_.OnRoomNotice(notice); }

void Sessions::OnSecond() {
  const int64_t unix_s = Context::UnixSeconds();
  for (ConnId c = 0; c < ctx_.table.SlotBound(); ++c) {
    const Session& s = ctx_.Sess(c);
    if (s.kind == SessKind::kFree || s.kind == SessKind::kRefused || (s.flags & kClosingSess)) {
      continue;
    }
    // Whole seconds, sampled once a second: '>' so that nothing is closed before its time
    // (a limit of L seconds acts between L and L + 2 seconds).
    const uint32_t idle = ctx_.clock_s - s.last_active;
    if (s.kind == SessKind::kHttp) {
      SweepHttp(c, idle);
    } else if (s.kind == SessKind::kWs || s.kind == SessKind::kWsJoining) {
      ws_.CheckIdle(c, idle);
      if (!(ctx_.Sess(c).flags & kClosingSess)) ws_.CheckExpiry(c, unix_s);
    }  // polls have their own deadline; SSE streams get heartbeats
  }
  const uint64_t now = ctx_.out.NowMs();
  poll_.Rooms().Sweep(now);
  poll_.Rooms().PublishHot(now, &ctx_.metrics);
  http_.SnapshotCache().Sweep(now);
  if (ctx_.clock_s >= next_heartbeat_s_) {  // a late sweep still sends it, never skips one
    next_heartbeat_s_ = ctx_.clock_s + ctx_.cfg.sse_heartbeat_secs;
    if (viewers_.SseViewers() > 0) sse_.Heartbeat();
  }
}

void Sessions::SweepHttp(ConnId c, uint32_t idle_s) {
  const Session& s = ctx_.Sess(c);
  if (s.flags & kAwaitingAck) return;
  if (s.pending && s.pending->partial_request &&
      ctx_.clock_s - s.pending->since_s > ctx_.cfg.handshake_timeout_secs) {
    // A request trickling in (slowloris): every byte resets the idle clock, not this one.
    ctx_.RespondError(c, ctx_.NoRequestForm(), 408, "request_timeout",
                      "the request did not arrive whole within --handshake-timeout-secs");
    return;
  }
  const uint32_t limit =
      (s.flags & kSawRequest) ? ctx_.cfg.keepalive_secs : ctx_.cfg.handshake_timeout_secs;
  if (idle_s > limit) ctx_.CloseConn(c, CloseMode::kGraceful);
}

uint32_t Sessions::BeforeSleep(uint64_t now_ms) {
  poll_.ExpirePolls(now_ms);
  const uint32_t wait = viewers_.Replicas().FlushDue(now_ms, [this](uint32_t idx) {
    viewers_.FlushReplica(idx);
    // A batch that answered the replica's last parked polls leaves it unused: free it, as an
    // expired or drained poll does.
    viewers_.Replicas().ReleaseIfUnused(idx);
  });
  return std::min(wait, poll_.MsToNextDeadline(now_ms));
}

uint32_t Sessions::Drain() {
  ctx_.draining = true;
  std::string bye = R"({"type":"bye","reconnect_ms":)";
  json::AppendUint(&bye, ctx_.cfg.bye_reconnect_ms);
  bye += '}';
  std::string frames;
  ctx_.writer.Append(&frames, ws::Opcode::kText, bye);
  ctx_.writer.AppendClose(&frames, ws::CloseCode::kGoingAway, "server draining");
  SharedBuf* ws_bye = SharedBuf::Make(std::move(frames));
  std::string events;
  sse::AppendEvent(&events, "bye", false, 0, bye);
  SharedBuf* sse_bye = SharedBuf::Make(std::move(events));
  uint32_t said_bye = 0;
  for (ConnId c = 0; c < ctx_.table.SlotBound(); ++c) {
    Session& s = ctx_.Sess(c);
    if (s.kind == SessKind::kFree || s.kind == SessKind::kRefused) continue;
    const bool ws = s.kind == SessKind::kWs || s.kind == SessKind::kWsJoining;
    const bool sse = s.kind == SessKind::kSse || s.kind == SessKind::kSseJoining;
    if (ws || sse) {
      if (!(s.flags & kClosingSess)) {
        ctx_.out.Enqueue(c, ws ? ws_bye : sse_bye);
        ++said_bye;
      }
      ctx_.CloseConn(c, CloseMode::kGraceful);
    } else if (s.kind == SessKind::kPollParked || s.kind == SessKind::kPollJoining) {
      if (!(s.flags & kClosingSess)) ++said_bye;
      poll_.DrainPoll(c);
    } else if (!(s.flags & kAwaitingAck)) {
      ctx_.CloseConn(c, CloseMode::kGraceful);
    }
  }
  ws_bye->Unref();
  sse_bye->Unref();
  return said_bye;
}

Sessions::Stats Sessions::GetStats() const {
  return Stats{viewers_.WsViewers(), viewers_.SseViewers(),       poll_.Parked(),
               viewers_.CatchUps(),  viewers_.CatchUpQueuePeak(), viewers_.ReplicaCount()};
}

}  // namespace roomcast::session
