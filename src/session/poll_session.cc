// The long-poll protocol handler (poll_session.h). Shard thread only.
#include "poll_session.h"

#include <algorithm>

#include "base/json_writer.h"
#include "longpoll/poll_response.h"

namespace roomcast::session {

void PollSession::Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view room) {
  ShardMetrics::Add(ctx_.metrics.longpoll_requests_total, 1);
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  std::string value;
  uint64_t history = ctx_.cfg.poll_history;
  if (http::QueryParam(req.query, "history", &value) && !http::ParseDecimal(value, &history)) {
    return ctx_.RespondError(c, a, 400, "bad_request", "history must be a whole number");
  }
  longpoll::Cursor cursor;
  bool has_cursor = false;
  if (http::QueryParam(req.query, "cursor", &value)) {
    switch (cursor_codec_.Decode(value, &cursor)) {
      case longpoll::CursorError::kNone:
        break;
      case longpoll::CursorError::kMalformed:
        return ctx_.RespondError(c, a, 400, "bad_cursor", "malformed cursor: poll without one");
      case longpoll::CursorError::kBadSignature:
        return ctx_.RespondError(c, a, 400, "bad_cursor",
                                 "cursor signature does not verify: poll without one");
    }
    if (cursor.room != room) {
      return ctx_.RespondError(c, a, 400, "bad_cursor", "cursor is for another room");
    }
    has_cursor = true;
  }
  if (ctx_.draining)
    return ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  if (ctx_.Authenticate(c, req, a) == Auth::kRefused) return;
  rooms_.NoteRequest(room, ctx_.out.NowMs());
  const uint32_t h =
      static_cast<uint32_t>(std::min<uint64_t>(history, ctx_.cfg.max_history_request));
  viewers_->StartJoin(
      c, room, has_cursor ? 0 : h, mesh::JoinMode::kPoll, has_cursor ? cursor.seq : kNoSince,
      has_cursor ? std::string_view(cursor.epoch) : std::string_view{}, AnswerForm::Pack(a));
}

void PollSession::OnJoinReply(const mesh::JoinReply& rep) {
  const uint32_t idx = viewers_->Replicas().Find(rep.room);
  const PollTag tag = PollTag::Unpack(rep.tag);
  Session& s = ctx_.Sess(rep.to.conn);
  if (rep.refusal != chat::Refusal::kNone) {
    const chat::RefusalInfo& e = chat::Describe(rep.refusal);
    s.kind = SessKind::kHttp;
    ctx_.RespondError(rep.to.conn, tag, e.http_status, e.code, e.text);
    if (tag.keep_alive) ctx_.held.ResumeHeldInput(rep.to.conn);
    return;
  }
  rooms_.NoteHead(rep.room, rep.head, ctx_.out.NowMs());
  if (rep.counted) return Park(rep);  // nothing newer than the cursor
  std::string gap;
  std::vector<std::string_view> objects;
  objects.reserve(rep.history.size() + 1);
  if (rep.gap_to != 0 || rep.reset) {
    gap = room::GapJson(rep.room, rep.gap_from, rep.gap_to,
                        rep.reset ? std::string_view(rep.epoch) : std::string_view{});
    objects.push_back(gap);
  }
  for (const room::SequencedMsg& m : rep.history) objects.push_back(m.json);
  ShardMetrics::Add(ctx_.metrics.deliveries_total, rep.history.size());
  AnswerPoll(rep.to.conn, rep.tag, rep.room, rep.epoch, rep.last, objects, idx);
}

void PollSession::Park(const mesh::JoinReply& rep) {
  // Parked until the next batch or the deadline.
  const uint32_t idx = viewers_->Replicas().Find(rep.room);
  Session& s = ctx_.Sess(rep.to.conn);
  const uint64_t deadline = ctx_.out.NowMs() + ctx_.cfg.poll_hold_ms;
  s.viewer_pos =
      viewers_->Replicas().AddPoller(idx, room::Poller{rep.to.conn, rep.tag, rep.last, deadline});
  s.kind = SessKind::kPollParked;
  ++parked_;
  rooms_.NoteParked(rep.room, 1);
  timers_.push_back(PollTimer{deadline, rep.to.conn, rep.to.gen});
}

uint32_t PollSession::BaseTimeoutMs(const std::string& room, uint32_t replica) {
  room::Replicas& reps = viewers_->Replicas();
  const uint32_t flush_ms = room::FlushIntervalMs(
      reps.Pacing(), replica == room::kNoReplica ? 0 : room::Replicas::Audience(reps.At(replica)));
  return rooms_.BaseTimeoutMs(room, flush_ms, ctx_.out.NowMs());
}

std::string PollSession::PollResponse(uint32_t tag, std::string_view room, std::string_view epoch,
                                      uint64_t seq, const std::vector<std::string_view>& objects,
                                      uint32_t timeout_ms) {
  const PollTag t = PollTag::Unpack(tag);
  ShardMetrics::Add(ctx_.metrics.longpoll_answers_built_total, 1);
  const std::string cursor =
      cursor_codec_.Encode(longpoll::Cursor{std::string(room), std::string(epoch), seq});
  const std::string body = longpoll::BuildPollBody(objects, cursor, timeout_ms, epoch, seq);
  return http::BuildResponse(200, "application/json", body, t.keep_alive, ctx_.CorsHeaders(t.cors));
}

void PollSession::EndPoll(ConnId c, bool keep_alive) {
  Session& s = ctx_.Sess(c);
  s.kind = SessKind::kHttp;
  s.replica = room::kNoReplica;
  s.last_active = ctx_.clock_s;
  ShardMetrics::Add(ctx_.metrics.longpoll_responses_total, 1);
  if (!keep_alive) ctx_.CloseConn(c, CloseMode::kGraceful);
}

void PollSession::AnswerPoll(ConnId c, uint32_t tag, const std::string& room,
                             std::string_view epoch, uint64_t seq,
                             const std::vector<std::string_view>& objects, uint32_t replica) {
  const uint32_t base = BaseTimeoutMs(room, replica);
  const uint32_t timeout = longpoll::JitteredTimeoutMs(base, kJitterPct, c, kJitterSlots);
  ctx_.out.EnqueueCopy(c, PollResponse(tag, room, epoch, seq, objects, timeout));
  ctx_.CountAnswer(c, 200);
  rooms_.NoteAnswered(room, timeout, 1, ctx_.out.NowMs());
  ShardMetrics::Add(ctx_.metrics.longpoll_response_messages_total, objects.size());
  ctx_.Sess(c).replica = room::kNoReplica;
  if (replica != room::kNoReplica) viewers_->Replicas().ReleaseIfUnused(replica);
  const bool keep_alive = PollTag::Unpack(tag).keep_alive;
  EndPoll(c, keep_alive);
  if (keep_alive) ctx_.held.ResumeHeldInput(c);
}

namespace {

// One response shared by every parked poll that needs exactly it.
struct Variant {
  size_t first;
  uint32_t tag;
  uint32_t timeout_ms;
  SharedBuf* buf;
  uint32_t answered;
};

}  // namespace

void PollSession::FlushPollers(uint32_t idx) {
  room::Replicas& reps = viewers_->Replicas();
  room::Replica& r = reps.At(idx);
  const std::string room = r.name;
  const std::string epoch = r.epoch;
  // Before the parked polls leave the replica: they are part of the audience that paces it.
  const uint32_t base = BaseTimeoutMs(room, idx);
  std::vector<room::Poller> parked;
  parked.swap(r.pollers);
  const std::vector<room::SequencedMsg>& pending = r.pending;
  // One response per (first message a poll lacks, answer form, advised wait), shared by every
  // poll that needs exactly it. Polls parked at one cursor share it: normally all of them, in one
  // response when the wait is 0 and in at most kJitterSlots when it is jittered.
  std::vector<Variant> variants;
  std::vector<ConnId> resume;
  uint32_t answered = 0;
  uint64_t delivered = 0;  // messages in the answers (the metrics are added once per batch)
  for (const room::Poller& p : parked) {
    const auto it =
        std::upper_bound(pending.begin(), pending.end(), p.seq,
                         [](uint64_t seq, const room::SequencedMsg& m) { return seq < m.seq; });
    if (it == pending.end()) {  // nothing here it lacks: stays parked
      ctx_.Sess(p.viewer).viewer_pos = reps.AddPoller(idx, p);
      continue;
    }
    const size_t first = static_cast<size_t>(it - pending.begin());
    const uint32_t timeout =
        longpoll::JitteredTimeoutMs(base, kJitterPct, p.viewer % kJitterSlots, kJitterSlots);
    Variant* var = nullptr;
    for (Variant& v : variants) {
      if (v.first == first && v.tag == p.tag && v.timeout_ms == timeout) var = &v;
    }
    if (!var) {
      std::vector<std::string_view> objects;
      objects.reserve(pending.size() - first);
      for (size_t i = first; i < pending.size(); ++i) objects.push_back(pending[i].json);
      SharedBuf* buf =
          SharedBuf::Make(PollResponse(p.tag, room, epoch, pending.back().seq, objects, timeout));
      var = &variants.emplace_back(Variant{first, p.tag, timeout, buf, 0});
    }
    var->answered++;
    ctx_.out.Enqueue(p.viewer, var->buf);
    ctx_.CountAnswer(p.viewer, 200);
    delivered += pending.size() - first;
    --parked_;
    ++answered;
    const bool keep_alive = PollTag::Unpack(p.tag).keep_alive;
    EndPoll(p.viewer, keep_alive);
    if (keep_alive) resume.push_back(p.viewer);
  }
  const uint64_t now = ctx_.out.NowMs();
  for (const Variant& v : variants) {
    rooms_.NoteAnswered(room, v.timeout_ms, v.answered, now);
    v.buf->Unref();
  }
  ShardMetrics::Add(ctx_.metrics.longpoll_response_messages_total, delivered);
  ShardMetrics::Add(ctx_.metrics.deliveries_total, delivered);
  if (answered > 0) {
    rooms_.NoteParked(room, -static_cast<int32_t>(answered));
    ctx_.rooms.Leave(mesh::LeaveReq{std::string(room), answered, mesh::JoinMode::kPoll});
  }
  // Requests pipelined behind the answered polls go on last: they may start new polls.
  for (ConnId c : resume) ctx_.held.ResumeHeldInput(c);
}

void PollSession::RemoveParked(ConnId c) {
  Session& s = ctx_.Sess(c);
  room::Replicas& reps = viewers_->Replicas();
  room::Replica& r = reps.At(s.replica);
  const ConnId moved = reps.RemovePoller(s.replica, s.viewer_pos);
  if (moved != c) ctx_.Sess(moved).viewer_pos = s.viewer_pos;
  --parked_;
  rooms_.NoteParked(r.name, -1);
}

void PollSession::ExpirePolls(uint64_t now_ms) {
  room::Replicas& reps = viewers_->Replicas();
  while (!timers_.empty() && timers_.front().deadline_ms <= now_ms) {
    const PollTimer t = timers_.front();
    timers_.pop_front();
    Session& s = ctx_.Sess(t.conn);
    if (s.gen != t.gen || s.kind != SessKind::kPollParked || (s.flags & kClosingSess)) continue;
    const uint32_t idx = s.replica;
    const room::Poller p = reps.At(idx).pollers[s.viewer_pos];
    if (p.deadline_ms != t.deadline_ms) continue;  // answered since, and parked again
    const std::string room = reps.At(idx).name;
    const std::string epoch = reps.At(idx).epoch;
    RemoveParked(t.conn);
    ctx_.rooms.Leave(mesh::LeaveReq{std::string(room), 1, mesh::JoinMode::kPoll});
    AnswerPoll(t.conn, p.tag, room, epoch, p.seq, {}, idx);
  }
}

uint32_t PollSession::MsToNextDeadline(uint64_t now_ms) const {
  if (timers_.empty()) return UINT32_MAX;
  const uint64_t d = timers_.front().deadline_ms;
  return static_cast<uint32_t>(std::min<uint64_t>(UINT32_MAX, d > now_ms ? d - now_ms : 0));
}

void PollSession::DrainPoll(ConnId c) {
  Session& s = ctx_.Sess(c);
  if (s.flags & kClosingSess) return;
  if (s.kind == SessKind::kPollJoining) {
    // The owner's answer is still on its way: it will find the connection gone.
    s.flags |= kClosingSess;
    ctx_.out.EnqueueCopy(c, http::BuildJsonError(503, "draining", "server is draining", false));
    ctx_.CountAnswer(c, 503);
    ctx_.out.Close(c, CloseMode::kGraceful);
    return;
  }
  room::Replicas& reps = viewers_->Replicas();
  const uint32_t idx = s.replica;
  const room::Poller p = reps.At(idx).pollers[s.viewer_pos];
  const std::string room = reps.At(idx).name;
  const std::string epoch = reps.At(idx).epoch;
  RemoveParked(c);
  ctx_.rooms.Leave(mesh::LeaveReq{std::string(room), 1, mesh::JoinMode::kPoll});
  std::string bye = R"({"type":"bye","reconnect_ms":)";
  json::AppendUint(&bye, ctx_.cfg.bye_reconnect_ms);
  bye += '}';
  const PollTag tag = PollTag::Unpack(p.tag);
  ctx_.out.EnqueueCopy(c, PollResponse(AnswerForm::Pack(tag.Closing()), room, epoch, p.seq, {bye},
                                       ctx_.cfg.bye_reconnect_ms));
  ctx_.CountAnswer(c, 200);
  reps.ReleaseIfUnused(idx);
  EndPoll(c, false);
}

}  // namespace roomcast::session
