// The server-sent-events side of a connection: GET /rooms/R/events. The stream head goes out at
// once; after the owner's join reply the viewer gets a welcome event, what it missed (resume with
// Last-Event-ID or ?since=) or the last ?history=N, then the room's shared event batches, and a
// comment line every --sse-heartbeat-secs. Shard thread only.
#include <algorithm>

#include "room/fanout.h"
#include "shard.h"
#include "sse/sse_event.h"

namespace roomcast::server {

namespace {
constexpr uint32_t kSseRetryMs = 1000;  // the reconnect delay EventSource is told to use
}  // namespace

void Shard::HandleSse(ConnId c, const http::Request& req, AnswerForm a, std::string_view room) {
  if (!chat::IsValidRoomId(room)) {
    return RespondError(c, a, 400, "bad_request", "room must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  std::string user;
  if (http::QueryParam(req.query, "user", &user) && !chat::IsValidUserName(user)) {
    return RespondError(c, a, 400, "bad_request", "user must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  uint64_t history = 0;
  std::string value;
  if (http::QueryParam(req.query, "history", &value) && !http::ParseDecimal(value, &history)) {
    return RespondError(c, a, 400, "bad_request", "history must be a whole number");
  }
  uint64_t since = kNoSince;
  bool has_id = false;
  std::string_view id_epoch;  // the epoch named by Last-Event-ID: SEQ:EPOCH (wins over ?epoch=)
  const std::string_view last_id = req.Find("Last-Event-ID", &has_id);
  if (has_id) {
    if (!sse::ParseEventId(last_id, &since, &id_epoch)) {
      return RespondError(c, a, 400, "bad_request",
                          "Last-Event-ID must be SEQ or SEQ:EPOCH (as the server sent it)");
    }
  } else if (http::QueryParam(req.query, "since", &value) && !http::ParseDecimal(value, &since)) {
    return RespondError(c, a, 400, "bad_request", "since must be a whole number");
  }
  std::string epoch;
  if (!ParseEpochParam(req, &epoch)) return RespondError(c, a, 400, "bad_request", kEpochRule);
  if (!id_epoch.empty()) epoch.assign(id_epoch);
  if (draining_) return RespondError(c, a.Closing(), 503, "draining", "server is draining");
  if (!user.empty()) sessions_.SetUser(c, user);
  loop_.EnqueueCopy(c, sse::StreamHead(kSseRetryMs, CorsHeaders(a.cors)));
  const uint32_t h = static_cast<uint32_t>(std::min<uint64_t>(history, cfg_.max_history_request));
  StartJoin(c, room, h, JoinMode::kSse, since, epoch);
}

void Shard::OnSseReply(mesh::JoinReply& rep) {
  const uint32_t idx = replicas_.Find(rep.room);
  Session& s = Sess(rep.to.conn);
  if (rep.refusal != chat::Refusal::kNone) {
    EndCatchUp(rep.to.conn);
    std::string ev;
    sse::AppendEvent(&ev, "error", false, 0,
                     R"({"type":"error","code":"unavailable","message":"room limit reached"})");
    loop_.EnqueueCopy(rep.to.conn, std::move(ev));
    s.flags |= kClosingSess;
    loop_.Close(rep.to.conn, io::CloseMode::kGraceful);
    return;
  }
  std::string events;
  if (!CatchingUp(rep.to.conn)) sse::AppendEvent(&events, "welcome", false, 0, WelcomeJson(rep));
  if (rep.more) return QueueCatchUpPage(rep, true, std::move(events));
  // As for WebSocket joins: what waits in the replica predates this viewer's start.
  if (!replicas_.At(idx).pending.empty()) FlushReplica(idx);
  s.viewer_pos = replicas_.AddViewer(idx, rep.to.conn, room::ViewerList::kSse);
  s.kind = SessKind::kSse;
  ++sse_viewers_;
  EndCatchUp(rep.to.conn);  // after AddViewer: the replica stays
  AppendJoinBacklog(rep, true, &events);
  loop_.EnqueueCopy(rep.to.conn, std::move(events));
}

void Shard::SseHeartbeat() {
  std::string hb;
  sse::AppendComment(&hb, "hb");
  SharedBuf* buf = SharedBuf::Make(std::move(hb));
  for (ConnId c = 0; c < sessions_.SlotBound(); ++c) {
    const Session& s = Sess(c);
    if (s.kind == SessKind::kSse && !(s.flags & kClosingSess)) loop_.Enqueue(c, buf);
  }
  buf->Unref();
}

}  // namespace roomcast::server
