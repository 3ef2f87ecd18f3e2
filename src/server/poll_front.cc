// The long-poll side of a connection: GET /rooms/R/messages[?cursor=C]. A poll asks the room's
// owner for what follows its cursor; with something to take away it is answered at once, else it
// is parked in the room's replica (no buffer, no timer of its own: one deadline queue per shard)
// until the next batch, which answers every parked poll with responses built once per cursor and
// answer form, or until its hold time ends. Shard thread only.
#include <algorithm>

#include "base/json_writer.h"
#include "base/log.h"
#include "longpoll/poll_response.h"
#include "shard.h"

namespace roomcast::server {

namespace {

// Jitter variants per room batch: pollers answered by one batch are spread over this many waits.
constexpr uint32_t kJitterSlots = 4;
constexpr uint32_t kJitterPct = 20;
// A room's pacing state is dropped after this long without a poll.
constexpr uint64_t kPollRoomIdleMs = 60000;

}  // namespace

void Shard::HandlePoll(ConnId c, const http::Request& req, AnswerForm a, std::string_view room) {
  ShardMetrics::Add(metrics_.longpoll_requests_total, 1);
  if (!chat::IsValidRoomId(room)) {
    return RespondError(c, a, 400, "bad_request", "room must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  std::string value;
  if (http::QueryParam(req.query, "user", &value) && !chat::IsValidUserName(value)) {
    return RespondError(c, a, 400, "bad_request", "user must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  uint64_t history = cfg_.poll_history;
  if (http::QueryParam(req.query, "history", &value) && !http::ParseDecimal(value, &history)) {
    return RespondError(c, a, 400, "bad_request", "history must be a whole number");
  }
  longpoll::Cursor cursor;
  bool has_cursor = false;
  if (http::QueryParam(req.query, "cursor", &value)) {
    switch (cursor_codec_.Decode(value, &cursor)) {
      case longpoll::CursorError::kNone:
        break;
      case longpoll::CursorError::kMalformed:
        return RespondError(c, a, 400, "bad_cursor", "malformed cursor: poll without one");
      case longpoll::CursorError::kBadSignature:
        return RespondError(c, a, 400, "bad_cursor",
                            "cursor signature does not verify: poll without one");
    }
    if (cursor.room != room) {
      return RespondError(c, a, 400, "bad_cursor", "cursor is for another room");
    }
    has_cursor = true;
  }
  if (draining_) return RespondError(c, a.Closing(), 503, "draining", "server is draining");
  std::string key(room);
  auto it = poll_rooms_.find(key);
  if (it == poll_rooms_.end() && poll_rooms_.size() < cfg_.max_rooms) {
    // Long enough to see every advised wait, jitter included, end.
    const uint32_t horizon = cfg_.poll_max_timeout_ms / 100 * (100 + kJitterPct) + 1000;
    it = poll_rooms_.emplace(std::move(key), PollRoomState(horizon)).first;
  }
  if (it != poll_rooms_.end()) {  // else: more polled rooms than --max-rooms; not paced
    it->second.last_req_ms = loop_.NowMs();
    it->second.reqs.Add(1, it->second.last_req_ms);
  }
  const uint32_t h = static_cast<uint32_t>(std::min<uint64_t>(history, cfg_.max_history_request));
  StartJoin(c, room, has_cursor ? 0 : h, JoinMode::kPoll, has_cursor ? cursor.seq : kNoSince,
            has_cursor ? std::string_view(cursor.epoch) : std::string_view{}, AnswerForm::Pack(a));
}

void Shard::OnPollReply(mesh::JoinReply& rep) {
  const uint32_t idx = replicas_.Find(rep.room);
  const PollTag tag = PollTag::Unpack(rep.tag);
  Session& s = Sess(rep.to.conn);
  if (rep.refusal != chat::Refusal::kNone) {
    const chat::RefusalInfo& e = chat::Describe(rep.refusal);
    s.kind = SessKind::kHttp;
    RespondError(rep.to.conn, tag, e.http_status, e.code, e.text);
    if (tag.keep_alive) ResumeHeldInput(rep.to.conn);
    return;
  }
  NotePollHead(rep.room, rep.head);
  if (rep.counted) {
    // Nothing newer than the cursor: park until the next batch or the deadline.
    const uint64_t deadline = loop_.NowMs() + cfg_.poll_hold_ms;
    s.viewer_pos = replicas_.AddPoller(idx, room::Poller{rep.to.conn, rep.tag, rep.last, deadline});
    s.kind = SessKind::kPollParked;
    ++parked_;
    if (auto it = poll_rooms_.find(rep.room); it != poll_rooms_.end()) it->second.parked++;
    poll_timers_.push_back(PollTimer{deadline, rep.to.conn, rep.to.gen});
    return;
  }
  std::string gap;
  std::vector<std::string_view> objects;
  objects.reserve(rep.history.size() + 1);
  if (rep.gap_to != 0 || rep.reset) {
    gap = room::GapJson(rep.room, rep.gap_from, rep.gap_to,
                        rep.reset ? std::string_view(rep.epoch) : std::string_view{});
    objects.push_back(gap);
  }
  for (const room::SequencedMsg& m : rep.history) objects.push_back(m.json);
  ShardMetrics::Add(metrics_.deliveries_total, rep.history.size());
  AnswerPoll(rep.to.conn, rep.tag, rep.room, rep.epoch, rep.last, objects, idx);
}

void Shard::NotePollHead(const std::string& room, uint64_t head) {
  auto it = poll_rooms_.find(room);
  if (it != poll_rooms_.end()) it->second.msgs.Observe(head, loop_.NowMs());
}

uint32_t Shard::PollBaseTimeoutMs(const std::string& room, uint32_t replica) {
  auto it = poll_rooms_.find(room);
  if (it == poll_rooms_.end()) return 0;
  PollRoomState& st = it->second;
  const uint64_t now = loop_.NowMs();
  longpoll::PollPacing pacing;
  pacing.budget_per_sec =
      cfg_.poll_budget == 0
          ? 0
          : std::max<uint32_t>(1, cfg_.poll_budget / static_cast<uint32_t>(shared_->shards));
  pacing.hold_ms = cfg_.poll_hold_ms;
  pacing.max_timeout_ms = cfg_.poll_max_timeout_ms;
  pacing.jitter_pct = kJitterPct;
  longpoll::RoomLoad load;
  load.msgs_per_sec = st.msgs.PerSec(now);
  load.flush_interval_ms = room::FlushIntervalMs(
      replicas_.Pacing(),
      replica == room::kNoReplica ? 0 : room::Replicas::Audience(replicas_.At(replica)));
  load.history_msgs = cfg_.history;
  // The room's pollers here: parked now, or answered and waiting out their timeoutMs.
  load.pollers = st.parked + st.away.Away(now);
  st.timeout_ms = longpoll::BaseTimeoutMs(pacing, load);
  return st.timeout_ms;
}

void Shard::NotePollAnswered(const std::string& room, uint32_t timeout_ms, uint32_t n) {
  auto it = poll_rooms_.find(room);
  if (it != poll_rooms_.end()) it->second.away.Answered(loop_.NowMs(), timeout_ms, n);
}

std::string Shard::PollResponse(uint32_t tag, std::string_view room, std::string_view epoch,
                                uint64_t seq, const std::vector<std::string_view>& objects,
                                uint32_t timeout_ms) {
  const PollTag t = PollTag::Unpack(tag);
  ShardMetrics::Add(metrics_.longpoll_answers_built_total, 1);
  const std::string cursor =
      cursor_codec_.Encode(longpoll::Cursor{std::string(room), std::string(epoch), seq});
  const std::string body = longpoll::BuildPollBody(objects, cursor, timeout_ms, epoch, seq);
  return http::BuildResponse(200, "application/json", body, t.keep_alive, CorsHeaders(t.cors));
}

void Shard::EndPoll(ConnId c, bool keep_alive) {
  Session& s = Sess(c);
  s.kind = SessKind::kHttp;
  s.replica = room::kNoReplica;
  s.last_active = clock_s_;
  ShardMetrics::Add(metrics_.longpoll_responses_total, 1);
  if (!keep_alive) {
    s.flags |= kClosingSess;
    loop_.Close(c, io::CloseMode::kGraceful);
  }
}

void Shard::AnswerPoll(ConnId c, uint32_t tag, const std::string& room, std::string_view epoch,
                       uint64_t seq, const std::vector<std::string_view>& objects,
                       uint32_t replica) {
  const uint32_t base = PollBaseTimeoutMs(room, replica);
  const uint32_t timeout = longpoll::JitteredTimeoutMs(base, kJitterPct, c, kJitterSlots);
  loop_.EnqueueCopy(c, PollResponse(tag, room, epoch, seq, objects, timeout));
  metrics_.CountHttpStatus(200);
  NotePollAnswered(room, timeout, 1);
  ShardMetrics::Add(metrics_.longpoll_response_messages_total, objects.size());
  Sess(c).replica = room::kNoReplica;
  if (replica != room::kNoReplica) replicas_.ReleaseIfUnused(replica);
  const bool keep_alive = PollTag::Unpack(tag).keep_alive;
  EndPoll(c, keep_alive);
  if (keep_alive) ResumeHeldInput(c);
}

void Shard::FlushPollers(uint32_t idx) {
  room::Replica& r = replicas_.At(idx);
  const std::string room = r.name;
  const std::string epoch = r.epoch;
  // Before the parked polls leave the replica: they are part of the audience that paces it.
  const uint32_t base = PollBaseTimeoutMs(room, idx);
  std::vector<room::Poller> parked;
  parked.swap(r.pollers);
  const std::vector<room::SequencedMsg>& pending = r.pending;
  // One response per (first message a poll lacks, answer form, advised wait), shared by every
  // poll that needs exactly it. Polls parked at one cursor share it: normally all of them, in one
  // response when the wait is 0 and in at most kJitterSlots when it is jittered.
  struct Variant {
    size_t first;
    uint32_t tag;
    uint32_t timeout_ms;
    SharedBuf* buf;
    uint32_t answered;
  };
  std::vector<Variant> variants;
  std::vector<ConnId> resume;
  uint32_t answered = 0;
  uint64_t delivered = 0;  // messages in the answers (the metrics are added once per batch)
  for (const room::Poller& p : parked) {
    const auto it =
        std::upper_bound(pending.begin(), pending.end(), p.seq,
                         [](uint64_t seq, const room::SequencedMsg& m) { return seq < m.seq; });
    if (it == pending.end()) {  // nothing here it lacks: stays parked
      Sess(p.viewer).viewer_pos = replicas_.AddPoller(idx, p);
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
    loop_.Enqueue(p.viewer, var->buf);
    metrics_.CountHttpStatus(200);
    delivered += pending.size() - first;
    --parked_;
    ++answered;
    const bool keep_alive = PollTag::Unpack(p.tag).keep_alive;
    EndPoll(p.viewer, keep_alive);
    if (keep_alive) resume.push_back(p.viewer);
  }
  for (const Variant& v : variants) {
    NotePollAnswered(room, v.timeout_ms, v.answered);
    v.buf->Unref();
  }
  ShardMetrics::Add(metrics_.longpoll_response_messages_total, delivered);
  ShardMetrics::Add(metrics_.deliveries_total, delivered);
  if (answered > 0) {
    if (auto it = poll_rooms_.find(room); it != poll_rooms_.end()) {
      it->second.parked -= std::min(it->second.parked, answered);
    }
    SendToOwner(room, mesh::LeaveReq{std::string(room), answered});
  }
  // Requests pipelined behind the answered polls go on last: they may start new polls.
  for (ConnId c : resume) ResumeHeldInput(c);
}

void Shard::RemoveParked(ConnId c) {
  Session& s = Sess(c);
  room::Replica& r = replicas_.At(s.replica);
  const ConnId moved = replicas_.RemovePoller(s.replica, s.viewer_pos);
  if (moved != c) Sess(moved).viewer_pos = s.viewer_pos;
  --parked_;
  auto it = poll_rooms_.find(r.name);
  if (it != poll_rooms_.end() && it->second.parked > 0) it->second.parked--;
}

void Shard::ExpirePolls(uint64_t now_ms) {
  while (!poll_timers_.empty() && poll_timers_.front().deadline_ms <= now_ms) {
    const PollTimer t = poll_timers_.front();
    poll_timers_.pop_front();
    Session& s = Sess(t.conn);
    if (s.gen != t.gen || s.kind != SessKind::kPollParked || (s.flags & kClosingSess)) continue;
    const uint32_t idx = s.replica;
    const room::Poller p = replicas_.At(idx).pollers[s.viewer_pos];
    if (p.deadline_ms != t.deadline_ms) continue;  // answered since, and parked again
    const std::string room = replicas_.At(idx).name;
    const std::string epoch = replicas_.At(idx).epoch;
    RemoveParked(t.conn);
    SendToOwner(room, mesh::LeaveReq{std::string(room), 1});
    AnswerPoll(t.conn, p.tag, room, epoch, p.seq, {}, idx);
  }
}

void Shard::DrainPoll(ConnId c) {
  Session& s = Sess(c);
  if (s.flags & kClosingSess) return;
  if (s.kind == SessKind::kPollJoining) {
    // The owner's answer is still on its way: it will find the connection gone.
    s.flags |= kClosingSess;
    loop_.EnqueueCopy(c, http::BuildJsonError(503, "draining", "server is draining", false));
    metrics_.CountHttpStatus(503);
    loop_.Close(c, io::CloseMode::kGraceful);
    return;
  }
  const uint32_t idx = s.replica;
  const room::Poller p = replicas_.At(idx).pollers[s.viewer_pos];
  const std::string room = replicas_.At(idx).name;
  const std::string epoch = replicas_.At(idx).epoch;
  RemoveParked(c);
  SendToOwner(room, mesh::LeaveReq{std::string(room), 1});
  std::string bye = R"({"type":"bye","reconnect_ms":)";
  json::AppendUint(&bye, cfg_.bye_reconnect_ms);
  bye += '}';
  const PollTag tag = PollTag::Unpack(p.tag);
  loop_.EnqueueCopy(c, PollResponse(AnswerForm::Pack(tag.Closing()), room, epoch, p.seq, {bye},
                                    cfg_.bye_reconnect_ms));
  metrics_.CountHttpStatus(200);
  replicas_.ReleaseIfUnused(idx);
  EndPoll(c, false);
}

void Shard::SweepPollRooms() {
  const uint64_t now = loop_.NowMs();
  for (auto it = poll_rooms_.begin(); it != poll_rooms_.end();) {
    if (it->second.parked == 0 && now - it->second.last_req_ms > kPollRoomIdleMs) {
      it = poll_rooms_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace roomcast::server
