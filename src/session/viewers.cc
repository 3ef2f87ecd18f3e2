// The viewer side of rooms (viewers.h): joins, stream viewers, forwards, catch-up pages and the
// replica batches. Shard thread only.
#include "viewers.h"

#include <algorithm>
#include <random>

#include "base/json_writer.h"
#include "base/log.h"
#include "sse/sse_event.h"

namespace roomcast::session {

using mesh::JoinMode;
using room::Framing;

namespace {

SessKind JoiningKind(JoinMode mode) {
  return mode == JoinMode::kWs    ? SessKind::kWsJoining
         : mode == JoinMode::kSse ? SessKind::kSseJoining
                                  : SessKind::kPollJoining;
}

}  // namespace

void Viewers::StartJoin(ConnId c, std::string_view room, uint32_t history, JoinMode mode,
                        uint64_t since, std::string_view epoch, uint32_t tag) {
  Session& s = ctx_.Sess(c);
  uint32_t idx = replicas_.GetOrCreate(room);
  replicas_.At(idx).joining++;
  s.replica = idx;
  s.kind = JoiningKind(mode);
  mesh::JoinReq req{std::string(room), {c, s.gen}, history, mode, since, std::string(epoch), tag};
  if (ctx_.cfg.presence) req.viewer = ViewerKey(c);
  ctx_.rooms.Join(std::move(req));
}

uint64_t Viewers::ViewerKey(ConnId c) {
  // A user is one viewer however many connections it has; an anonymous viewer is its connection
  // (its name is made from shard, slot and generation, so it also carries a random tag of this
  // process: with --redis another node's anonymous connection of the same name is another
  // viewer). The prefixes keep a user named like an anonymous connection apart from it.
  static const std::string anon = [] {
    std::random_device rd;
    return "a:" + std::to_string(rd()) + ":";
  }();
  const bool user = ctx_.table.Profile(c) != nullptr;
  return room::HashItem((user ? "u:" : anon) + ctx_.table.UserName(c));
}

bool Viewers::OnJoinReply(const mesh::JoinReply& rep) {
  uint32_t idx = replicas_.Find(rep.room);
  if (idx == room::kNoReplica) {
    RC_ERROR(ctx_.shard, "join reply for room %s without a replica", rep.room.c_str());
    return false;
  }
  room::Replica& r = replicas_.At(idx);
  if (r.joining > 0) r.joining--;
  const bool refused = rep.refusal != chat::Refusal::kNone;
  if (!refused) r.epoch = rep.epoch;
  Session& s = ctx_.Sess(rep.to.conn);
  if (s.gen != rep.to.gen || s.kind != JoiningKind(rep.mode) || (s.flags & kClosingSess)) {
    // The viewer left before the owner answered: undo the owner's count.
    if (!refused && rep.counted) ctx_.rooms.Leave(mesh::LeaveReq{rep.room, 1, rep.mode});
    if (s.gen == rep.to.gen) s.replica = room::kNoReplica;
    replicas_.ReleaseIfUnused(idx);
    return false;
  }
  if (refused) {  // the owner refused (room limit): each front answers its way
    s.replica = room::kNoReplica;
    replicas_.ReleaseIfUnused(idx);
  }
  return true;
}

void Viewers::AddStreamViewer(const mesh::JoinReply& rep, Framing framing, std::string out) {
  const bool sse = framing == Framing::kSse;
  if (rep.more) return QueueCatchUpPage(rep, sse, std::move(out));
  const uint32_t idx = replicas_.Find(rep.room);
  Session& s = ctx_.Sess(rep.to.conn);
  // Messages already waiting in the replica were sequenced before this join (the owner answered
  // the join after forwarding them): they go to the viewers that were here before, not to this
  // one, whose history and live stream start after HEAD.
  if (!replicas_.At(idx).pending.empty()) FlushReplica(idx);
  if (sse) {
    s.viewer_pos = replicas_.AddViewer(idx, rep.to.conn, room::ViewerList::kSse);
    s.kind = SessKind::kSse;
    ++sse_viewers_;
  } else {
    s.viewer_pos = replicas_.AddViewer(idx, rep.to.conn);
    s.kind = SessKind::kWs;
    ++ws_viewers_;
  }
  EndCatchUp(rep.to.conn);  // after AddViewer: the replica stays
  AppendJoinBacklog(rep, sse, &out);
  ctx_.out.EnqueueCopy(rep.to.conn, std::move(out));
}

namespace {
constexpr char kDefaultModes[] =
    R"({"slow_secs":0,"subscribers_only":false,"emote_only":false,"unique":false})";
}  // namespace

std::string Viewers::WelcomeJson(const mesh::JoinReply& rep) {
  std::string j = R"({"type":"welcome","room":)";
  json::AppendString(&j, rep.room);
  j += R"(,"epoch":)";
  json::AppendString(&j, rep.epoch);
  j += R"(,"seq":)";
  json::AppendUint(&j, rep.head);
  j += R"(,"online":)";
  json::AppendUint(&j, rep.online);
  ctx_.Sess(rep.to.conn).told_online = static_cast<uint32_t>(rep.online);
  j += R"(,"modes":)";
  j += rep.modes_json.empty() ? std::string_view(kDefaultModes) : std::string_view(rep.modes_json);
  j += R"(,"user":)";
  json::AppendString(&j, ctx_.table.UserName(rep.to.conn));
  j += '}';
  return j;
}

void Viewers::AppendJoinBacklog(const mesh::JoinReply& rep, bool sse, std::string* out) {
  const Framing f = sse ? Framing::kSse : Framing::kWebSocket;
  if (rep.gap_to != 0 || rep.reset) {
    const std::string gap =
        room::GapJson(rep.room, rep.gap_from, rep.gap_to,
                      rep.reset ? std::string_view(rep.epoch) : std::string_view{});
    if (sse && rep.reset) {
      // A reset gap's id names the new epoch even at seq 0: a reconnect resumes inside it.
      sse::AppendEvent(out, "gap", true, rep.gap_to, gap, rep.epoch);
    } else {
      room::EncodeObject(ctx_.writer, f, "gap", rep.gap_to, gap, out, rep.epoch);
    }
  }
  // rep.last: a catch-up page's priority events above it are ahead of ordinary ones to come.
  room::EncodeBatch(ctx_.writer, f, rep.history, out, rep.epoch, rep.gap_to, rep.last);
}

void Viewers::RemoveStreamViewer(ConnId c) {
  Session& s = ctx_.Sess(c);
  const auto list = s.kind == SessKind::kSse ? room::ViewerList::kSse : room::ViewerList::kWs;
  ConnId moved = replicas_.RemoveViewer(s.replica, s.viewer_pos, list);
  if (moved != c) ctx_.Sess(moved).viewer_pos = s.viewer_pos;
  --(s.kind == SessKind::kSse ? sse_viewers_ : ws_viewers_);
}

void Viewers::LeaveReplica(ConnId c) {
  Session& s = ctx_.Sess(c);
  const uint32_t idx = s.replica;
  room::Replica& r = replicas_.At(idx);
  const JoinMode mode = s.kind == SessKind::kSse          ? JoinMode::kSse
                        : s.kind == SessKind::kPollParked ? JoinMode::kPoll
                                                          : JoinMode::kWs;
  ctx_.rooms.Leave(mesh::LeaveReq{r.name, 1, mode});
  s.replica = room::kNoReplica;
  replicas_.ReleaseIfUnused(idx);
}

void Viewers::OnForward(mesh::ForwardMsg& fwd) {
  uint32_t idx = replicas_.Find(fwd.room);
  if (idx == room::kNoReplica) return;  // our last viewer left while this was on its way
  room::Replica& r = replicas_.At(idx);
  if (fwd.msg.Sampled()) {
    for (const uint64_t tag : fwd.see_tags)
      r.sampled_for.emplace_back(static_cast<uint32_t>(r.pending.size()), tag);
  }
  replicas_.Deliver(idx, std::move(fwd.msg));
}

void Viewers::EchoToUser(const mesh::ShadowEcho& echo) {
  const uint32_t idx = replicas_.Find(echo.room);
  if (idx == room::kNoReplica) return;
  const room::Replica& r = replicas_.At(idx);
  for (const Framing f : {Framing::kWebSocket, Framing::kSse}) {
    for (room::ViewerId v : f == Framing::kSse ? r.sse : r.viewers) {
      if (ctx_.table.UserName(v) != echo.user) continue;
      std::string bytes;
      room::EncodeObject(ctx_.writer, f, "msg", 0, echo.json, &bytes, r.epoch);
      ctx_.out.EnqueueCopy(v, std::move(bytes));
    }
  }
}

void Viewers::Broadcast(const mesh::RoomEvent& ev) {
  const uint32_t idx = replicas_.Find(ev.room);
  if (idx == room::kNoReplica) return;
  const room::Replica& r = replicas_.At(idx);
  uint64_t queued = 0;
  for (const Framing f : {Framing::kWebSocket, Framing::kSse}) {
    const auto& viewers = f == Framing::kSse ? r.sse : r.viewers;
    if (viewers.empty()) continue;
    std::string bytes;
    room::EncodeObject(ctx_.writer, f, ev.type, 0, ev.json, &bytes, r.epoch);
    SharedBuf* buf = SharedBuf::Make(std::move(bytes));
    const size_t size = buf->bytes.size();
    for (room::ViewerId v : viewers) {
      // A presence state tells nothing new to a viewer told that count already (its welcome).
      uint32_t& told = ctx_.Sess(v).told_online;
      if (ev.online != 0 && told == ev.online) continue;
      const uint32_t q = ctx_.out.QueuedBytes(v);
      if (q != 0 && q + size > ctx_.cfg.max_queue_bytes) continue;
      ctx_.out.Enqueue(v, buf);
      if (ev.online != 0) told = static_cast<uint32_t>(ev.online);
      ++queued;
    }
    buf->Unref();
  }
  ShardMetrics::Add(ctx_.metrics.room_events_total, queued);
}

void Viewers::FlushReplica(uint32_t idx) {
  room::Replica& r = replicas_.At(idx);
  r.dirty = false;
  r.prio_due = false;  // whatever flushes the room (a join too) sends its priority messages
  if (r.pending.empty()) return;
  if (room::Replicas::Audience(r) == 0) {
    r.pending.clear();
    r.sampled_for.clear();
    return;
  }
  const uint64_t now = ctx_.out.NowMs();
  const auto audience = static_cast<uint32_t>(room::Replicas::Audience(r));
  for (const room::SequencedMsg& m : r.pending) {
    const uint64_t lag = now > m.sequenced_ms ? now - m.sequenced_ms : 0;
    ctx_.metrics.ObserveFanoutDelay(lag);
    if (ctx_.cfg.presence) r.lag.Observe(lag, audience);  // per delivery
  }
  if (ctx_.cfg.presence && !r.lag_listed) {
    r.lag_listed = true;
    lag_rooms_.push_back(idx);
  }
  // A hot room's sampled-out messages: only to their senders' and mentioned users' viewers.
  std::vector<room::SequencedMsg> shown;
  if (!r.sampled_for.empty()) {
    for (const room::SequencedMsg& m : r.pending) {
      if (!m.Sampled()) shown.push_back(m);
    }
  }
  const std::span<const room::SequencedMsg> batch =
      r.sampled_for.empty() ? std::span<const room::SequencedMsg>(r.pending) : shown;
  room::FanoutResult res;
  for (const Framing f : {Framing::kWebSocket, Framing::kSse}) {
    const auto& viewers = f == Framing::kSse ? r.sse : r.viewers;
    if (viewers.empty()) continue;
    // WebSocket viewers with permessage-deflate get the batch's compressed twin (ws_deflate.h).
    const WsDeflate::Lists lists = f == Framing::kSse ? WsDeflate::Lists{viewers, {}}
                                                      : ctx_.deflate.Split(viewers, ctx_.table);
    room::FanoutResult one =
        room::FanOutBatch(ctx_.writer, f, r.name, r.epoch, batch, r.recent_prio, lists.plain,
                          ctx_.cfg.slow_policy, ctx_.cfg.max_queue_bytes, ctx_.out, lists.lane);
    ctx_.deflate.Count(one);
    res.delivered += one.delivered;
    res.skipped += one.skipped;
    res.closed += one.closed;
  }
  ShardMetrics::Add(ctx_.metrics.deliveries_total, res.delivered * batch.size());
  ShardMetrics::Add(ctx_.metrics.batches_total, 1);
  ShardMetrics::Add(ctx_.metrics.slow_skips_total, res.skipped);
  ShardMetrics::Add(ctx_.metrics.slow_closes_total, res.closed);
  if (!r.sampled_for.empty()) DeliverSampled(idx);  // after the batch they belong to
  r.sampled_for.clear();  // long-polls get every message (docs/protocol.md, "Hot rooms")
  if (!r.pollers.empty()) polls_.FlushPollers(idx);  // may re-enter: handles held requests last
  replicas_.At(idx).pending.clear();
}

void Viewers::ReportLag() {
  if (lag_rooms_.empty()) return;
  mesh::LagReport rep;
  for (const uint32_t idx : lag_rooms_) {
    room::Replica& r = replicas_.At(idx);
    if (!r.lag_listed) continue;  // released (and perhaps reused) since
    r.lag_listed = false;
    if (!r.in_use || r.lag.Empty()) continue;
    rep.rooms.emplace_back(r.name, r.lag.P99());
    r.lag.Clear();
  }
  lag_rooms_.clear();
  if (!rep.rooms.empty()) ctx_.rooms.ReportLag(std::move(rep));
}

void Viewers::QueueCatchUpPage(const mesh::JoinReply& rep, bool sse, std::string out) {
  const ConnId c = rep.to.conn;
  auto [it, fresh] = catchups_.try_emplace(c);
  CatchUp& cu = it->second;
  if (fresh) {  // the first page: the record holds the replica until the catch-up ends
    cu.gen = rep.to.gen;
    cu.replica = ctx_.Sess(c).replica;
    replicas_.At(cu.replica).joining++;
  }
  cu.epoch = rep.epoch;
  cu.last = rep.last;
  cu.prio_sent_upto = rep.prio_sent_upto;
  cu.in_flight = false;
  AppendJoinBacklog(rep, sse, &out);
  cu.last_page_bytes = static_cast<uint32_t>(std::min<size_t>(out.size(), UINT32_MAX));
  ctx_.out.EnqueueCopy(c, std::move(out));
  ShardMetrics::Add(ctx_.metrics.catchup_pages_total, 1);
  catchup_queue_peak_ = std::max<uint64_t>(catchup_queue_peak_, ctx_.out.QueuedBytes(c));
  AskNextPage(c);
}

void Viewers::AskNextPage(ConnId c) {
  auto it = catchups_.find(c);
  if (it == catchups_.end()) return;
  CatchUp& cu = it->second;
  const Session& s = ctx_.Sess(c);
  if (s.gen != cu.gen || (s.flags & kClosingSess)) return;
  if (!PageFits(cu, ctx_.out.QueuedBytes(c), ctx_.cfg.max_queue_bytes)) return;
  room::Replica& r = replicas_.At(cu.replica);
  r.joining++;  // held by the request until its answer (OnJoinReply)
  cu.in_flight = true;
  mesh::JoinReq req{r.name,  {c, s.gen},
                    0,       s.kind == SessKind::kSseJoining ? JoinMode::kSse : JoinMode::kWs,
                    cu.last, cu.epoch};
  req.prio_sent_upto = cu.prio_sent_upto;
  ctx_.rooms.Join(std::move(req));
}

void Viewers::EndCatchUp(ConnId c) {
  auto it = catchups_.find(c);
  if (it == catchups_.end()) return;
  const uint32_t idx = it->second.replica;
  catchups_.erase(it);
  room::Replica& r = replicas_.At(idx);
  if (r.joining > 0) r.joining--;
  replicas_.ReleaseIfUnused(idx);
}

}  // namespace roomcast::session
