// The server-sent-events protocol handler (sse_session.h). Shard thread only.
#include "sse_session.h"

#include <algorithm>

#include "sse/sse_event.h"

namespace roomcast::session {

namespace {
constexpr uint32_t kSseRetryMs = 1000;  // the reconnect delay EventSource is told to use
}  // namespace

void SseSession::Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view room) {
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  uint64_t history = 0;
  std::string value;
  if (http::QueryParam(req.query, "history", &value) && !http::ParseDecimal(value, &history)) {
    return ctx_.RespondError(c, a, 400, "bad_request", "history must be a whole number");
  }
  uint64_t since = kNoSince;
  bool has_id = false;
  std::string_view id_epoch;  // the epoch named by Last-Event-ID: SEQ:EPOCH (wins over ?epoch=)
  const std::string_view last_id = req.Find("Last-Event-ID", &has_id);
  if (has_id) {
    if (!sse::ParseEventId(last_id, &since, &id_epoch)) {
      return ctx_.RespondError(c, a, 400, "bad_request",
                               "Last-Event-ID must be SEQ or SEQ:EPOCH (as the server sent it)");
    }
  } else if (http::QueryParam(req.query, "since", &value) && !http::ParseDecimal(value, &since)) {
    return ctx_.RespondError(c, a, 400, "bad_request", "since must be a whole number");
  }
  std::string epoch;
  if (!ParseEpochParam(req, &epoch)) return ctx_.RespondError(c, a, 400, "bad_request", kEpochRule);
  if (!id_epoch.empty()) epoch.assign(id_epoch);
  if (ctx_.draining)
    return ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  if (ctx_.Authenticate(c, req, a) == Auth::kRefused) return;
  ctx_.out.EnqueueCopy(c, sse::StreamHead(kSseRetryMs, ctx_.CorsHeaders(a.cors)));
  ctx_.CountAnswer(c, 200);
  const uint32_t h =
      static_cast<uint32_t>(std::min<uint64_t>(history, ctx_.cfg.max_history_request));
  viewers_.StartJoin(c, room, h, mesh::JoinMode::kSse, since, epoch);
}

void SseSession::OnJoinReply(const mesh::JoinReply& rep) {
  if (rep.refusal != chat::Refusal::kNone) {
    viewers_.EndCatchUp(rep.to.conn);
    std::string ev;
    sse::AppendEvent(&ev, "error", false, 0,
                     R"({"type":"error","code":"unavailable","message":"room limit reached"})");
    ctx_.out.EnqueueCopy(rep.to.conn, std::move(ev));
    ctx_.CloseConn(rep.to.conn, CloseMode::kGraceful);
    return;
  }
  std::string events;
  if (!viewers_.CatchingUp(rep.to.conn)) {
    sse::AppendEvent(&events, "welcome", false, 0, viewers_.WelcomeJson(rep));
  }
  // As for WebSocket joins: what waits in the replica predates this viewer's start.
  viewers_.AddStreamViewer(rep, room::Framing::kSse, std::move(events));
}

void SseSession::Heartbeat() {
  std::string hb;
  sse::AppendComment(&hb, "hb");
  SharedBuf* buf = SharedBuf::Make(std::move(hb));
  for (ConnId c = 0; c < ctx_.table.SlotBound(); ++c) {
    const Session& s = ctx_.Sess(c);
    if (s.kind == SessKind::kSse && !(s.flags & kClosingSess)) ctx_.out.Enqueue(c, buf);
  }
  buf->Unref();
}

}  // namespace roomcast::session
