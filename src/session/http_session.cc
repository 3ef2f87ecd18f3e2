// The plain HTTP protocol handler (http_session.h). Shard thread only.
#include "http_session.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "ack_json.h"
#include "base/json_writer.h"
#include "base/log.h"
#include "room/fanout.h"
#include "web/static_files.h"

namespace roomcast::session {

namespace {

constexpr uint32_t kDefaultHistoryLimit = 100;

// The body of a history page: {"messages":[...],"more":B,"epoch":E,"seq":HEAD}.
std::string HistoryBody(const mesh::HistoryReply& rep) {
  std::string body = R"({"messages":[)";
  bool first = true;
  if (rep.gap_to != 0) {
    body += room::GapJson(rep.room, rep.gap_from, rep.gap_to);
    first = false;
  }
  for (const room::SequencedMsg& m : rep.msgs) {
    if (!first) body += ',';
    body += m.json;
    first = false;
  }
  body += R"(],"more":)";
  body += rep.last < rep.head ? "true" : "false";
  if (!rep.epoch.empty()) {
    body += R"(,"epoch":)";
    json::AppendString(&body, rep.epoch);
  }
  body += R"(,"seq":)";
  json::AppendUint(&body, rep.head);
  body += '}';
  return body;
}

// The body of an ack to an HTTP send or an admin request.
std::string AckBody(const mesh::AckReply& ack) {
  if (!ack.body.empty()) return ack.body;  // a listing (bans, audit)
  std::string body;
  if (!ack.op.empty()) {  // a moderation act
    body = R"({"op":)";
    json::AppendString(&body, ack.op);
    if (ack.seq) {
      body += R"(,"seq":)";
      json::AppendUint(&body, ack.seq);
    }
  } else if (ack.target != 0) {
    body = R"({"retracted":)";
    json::AppendUint(&body, ack.target);
    body += R"(,"seq":)";
    json::AppendUint(&body, ack.seq);
  } else {
    body = "{";
    AppendAckFields(&body, ack);
  }
  body += '}';
  return body;
}

}  // namespace

size_t HttpSession::Process(ConnId c, std::span<const uint8_t> data) {
  std::string_view buf(reinterpret_cast<const char*>(data.data()), data.size());
  http::Request req;
  http::ParseStatus st = http::ParseRequestHead(buf, ctx_.http_limits, &req);
  switch (st) {
    case http::ParseStatus::kIncomplete:
      return 0;
    case http::ParseStatus::kBadRequest:
      ctx_.RespondError(c, ctx_.NoRequestForm(), 400, "bad_request", "malformed HTTP request head");
      return data.size();
    case http::ParseStatus::kHeadTooLarge:
      ctx_.RespondError(c, ctx_.NoRequestForm(), 431, "too_large",
                        "request head too large or too many headers");
      return data.size();
    case http::ParseStatus::kNotImplemented:
      ctx_.RespondError(c, ctx_.NoRequestForm(), 501, "not_implemented",
                        "Transfer-Encoding is not supported");
      return data.size();
    case http::ParseStatus::kComplete:
      break;
  }
  ctx_.Sess(c).flags |= kSawRequest;
  ctx_.access.Begin(c, req);
  const size_t max_body = MaxBodyOf(req, ctx_.cfg);
  if (req.content_length > max_body) {
    ctx_.RespondError(c, AnswerForm{false, ctx_.CorsIndex(req)}, 413, "too_large",
                      "request body over " + std::to_string(max_body) + " bytes");
    return data.size();
  }
  const size_t total = req.head_bytes + req.content_length;
  if (buf.size() < total) return 0;  // wait for the whole body
  std::string_view body = buf.substr(req.head_bytes, req.content_length);
  HandleRequest(c, req, body);
  return total;
}

void HttpSession::HandleRequest(ConnId c, const http::Request& req, std::string_view body) {
  const std::string_view path = req.path;
  const AnswerForm a{req.keep_alive && !ctx_.draining, ctx_.CorsIndex(req), req.method == "HEAD"};
  if (HandleStatus(c, req, a)) return;
  if (path == "/ws") {
    if (req.method != "GET") return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
    return ws_.HandleUpgrade(c, req, a);
  }
  if (path.substr(0, 13) == "/admin/rooms/") return admin_.Handle(c, req, a, body);
  if (path == "/admin/rooms") return admin_.HandleTopRooms(c, req, a);
  if (path == "/admin/terms") return admin_.HandleGlobalTerms(c, req, a, body);
  if (ctx_.cfg.debug_stall && path == "/debug/stall") return HandleDebugStall(c, req, a);
  HandleRoom(c, req, a, body);
}

bool HttpSession::HandleStatus(ConnId c, const http::Request& req, AnswerForm a) {
  const std::string_view path = req.path;
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") return false;
  const bool ka = a.keep_alive;
  const std::string_view cors = ctx_.CorsHeaders(a.cors);
  if (req.method != "GET" && req.method != "HEAD") {
    ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
  } else if (path == "/healthz") {
    ctx_.Respond(c, a,
                 http::BuildResponse(200, "application/json", R"({"status":"ok"})", ka, cors));
  } else if (path == "/metrics") {
    ctx_.Respond(c, a,
                 http::BuildResponse(200, "text/plain; version=0.0.4", ctx_.status.RenderMetrics(),
                                     ka, cors));
  } else if (ctx_.draining || ctx_.status.DrainNoticed()) {
    ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  } else if (!ctx_.status.LogWritable()) {
    ctx_.RespondError(c, a, 503, "unavailable",
                      "the message log cannot be written: publishes are refused");
  } else {
    ctx_.Respond(c, a,
                 http::BuildResponse(200, "application/json", R"({"status":"ready"})", ka, cors));
  }
  return true;
}

void HttpSession::HandleRoom(ConnId c, const http::Request& req, AnswerForm a,
                             std::string_view body) {
  const std::string_view path = req.path;
  constexpr std::string_view kRooms = "/rooms/";
  if (path.substr(0, kRooms.size()) == kRooms) {
    if (req.method == "OPTIONS") return HandlePreflight(c, a);
    const std::string_view rest = path.substr(kRooms.size());
    const size_t slash = rest.rfind('/');
    const std::string_view room = slash == std::string_view::npos ? rest : rest.substr(0, slash);
    const std::string_view what =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (what == "messages" && !room.empty()) {
      if (req.method == "POST") return HandleSend(c, req, a, room, body);
      if (req.method == "GET") return poll_.Handle(c, req, a, room);
      return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET to poll or POST to send");
    }
    if (what == "events" && !room.empty()) {
      if (req.method == "GET") return sse_.Handle(c, req, a, room);
      return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
    if (what == "history" && !room.empty()) {
      if (req.method == "GET") return HandleHistory(c, req, a, room);
      return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
    if (what == "snapshot" && !room.empty()) {
      if (req.method == "GET" || req.method == "HEAD") return HandleSnapshot(c, req, a, room);
      return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
  }
  HandleStatic(c, req, a);
}

void HttpSession::HandleStatic(ConnId c, const http::Request& req, AnswerForm a) {
  // The JS client and the demo page (src/web): GET and HEAD only.
  if (const web::StaticFile* f = web::FindStatic(req.path, !ctx_.cfg.no_demo)) {
    if (req.method != "GET" && req.method != "HEAD") {
      return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
    const std::string_view inm = req.Find("If-None-Match");
    return ctx_.RespondHttp(
        c,
        web::StaticResponse(*f, req.method == "HEAD", inm, a.keep_alive, ctx_.CorsHeaders(a.cors)),
        a.keep_alive);
  }
  ctx_.RespondError(c, a, 404, "not_found", "no such endpoint");
}

void HttpSession::HandleDebugStall(ConnId c, const http::Request& req, AnswerForm a) {
  if (req.method != "POST") return ctx_.RespondError(c, a, 405, "method_not_allowed", "use POST");
  std::string secs_s;
  uint64_t secs = 0;
  if (!http::QueryParam(req.query, "secs", &secs_s) || !http::ParseDecimal(secs_s, &secs) ||
      secs < 1 || secs > 60) {
    return ctx_.RespondError(c, a, 400, "bad_request", "secs must be a whole number from 1 to 60");
  }
  RC_WARN(ctx_.shard, "POST /debug/stall: blocking this shard's loop for %llu s (--debug-stall)",
          static_cast<unsigned long long>(secs));
  sleep(static_cast<unsigned>(secs));  // the point: this loop does not turn meanwhile
  ctx_.Respond(c, a,
               http::BuildResponse(200, "application/json", R"({"status":"stalled"})", a.keep_alive,
                                   ctx_.CorsHeaders(a.cors)));
}

void HttpSession::HandlePreflight(ConnId c, AnswerForm a) {
  if (a.cors == kCorsDenied) {
    ctx_.RespondError(c, a, 403, "forbidden", "origin not allowed (see --cors-origins)");
    return;
  }
  std::string extra(ctx_.CorsHeaders(a.cors));
  extra +=
      "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
      "Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID\r\n"
      "Access-Control-Max-Age: 600\r\n";
  ctx_.RespondHttp(c, http::BuildResponse(204, "", "", a.keep_alive, extra), a.keep_alive);
}

void HttpSession::AwaitAnswer(ConnId c, AnswerForm a) {
  Session& s = ctx_.Sess(c);
  s.flags |= kAwaitingAck;
  if (!a.keep_alive) s.flags |= kClosingSess;  // answer, then close (see OnAck)
}

void HttpSession::HandleSend(ConnId c, const http::Request& req, AnswerForm a,
                             std::string_view room, std::string_view body) {
  if (ctx_.OriginRefused(req, a)) {  // e.g. a text/plain form POST, which needs no preflight
    return ctx_.RespondError(c, a, 403, "forbidden", "origin not allowed (see --cors-origins)");
  }
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  chat::ClientOp op;
  chat::OpError err = ctx_.op_parser.ParseHttpSend(body, ctx_.text_limits, &op);
  if (err.refusal != chat::Refusal::kNone) {
    return ctx_.RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  switch (ctx_.Authenticate(c, req, a)) {
    case Auth::kRefused:
      return;
    case Auth::kAnonymous:
      if (!ctx_.MaySend(c)) {
        return ctx_.RespondError(c, a.Closing(), 401, "unauthorized",
                                 "sending needs a token (Authorization: Bearer or ?token=)");
      }
      break;
    case Auth::kUser:
      break;
  }
  AwaitAnswer(c, a);
  ctx_.Publish(c, true, room, op, /*admin=*/false, a.cors);
}

void HttpSession::OnAck(const mesh::AckReply& ack) {
  Session& s = ctx_.Sess(ack.to.conn);
  s.flags &= static_cast<uint8_t>(~kAwaitingAck);
  const bool keep_alive = !(s.flags & kClosingSess);
  const AnswerForm form{keep_alive, ack.cors};
  s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
  if (ack.refusal != chat::Refusal::kNone) {
    ctx_.RespondRefusal(ack.to.conn, form, ack.refusal, ack.retry_ms);
  } else {
    ctx_.RespondHttp(ack.to.conn,
                     http::BuildResponse(200, "application/json", AckBody(ack), keep_alive,
                                         ctx_.CorsHeaders(form.cors)),
                     keep_alive);
  }
  if (keep_alive) ctx_.held.ResumeHeldInput(ack.to.conn);
}

void HttpSession::HandleHistory(ConnId c, const http::Request& req, AnswerForm a,
                                std::string_view room) {
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  std::string value;
  uint64_t after = 0;
  if (http::QueryParam(req.query, "after", &value) && !http::ParseDecimal(value, &after)) {
    return ctx_.RespondError(c, a, 400, "bad_request", "after must be a whole number (a seq)");
  }
  const uint32_t max = ctx_.cfg.max_history_request;
  uint64_t limit = std::min(kDefaultHistoryLimit, max);
  if (http::QueryParam(req.query, "limit", &value) &&
      (!http::ParseDecimal(value, &limit) || limit == 0 || limit > max)) {
    return ctx_.RespondError(c, a, 400, "bad_request",
                             "limit must be a whole number from 1 to " + std::to_string(max) +
                                 " (--max-history-request)");
  }
  if (max == 0) return ctx_.RespondError(c, a, 400, "bad_request", "history requests are off");
  AwaitAnswer(c, a);
  ctx_.rooms.History(mesh::HistoryReq{
      std::string(room), after, static_cast<uint32_t>(limit), {c, ctx_.Sess(c).gen}, a.cors});
}

void HttpSession::HandleSnapshot(ConnId c, const http::Request& req, AnswerForm a,
                                 std::string_view room) {
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  const uint32_t max = ctx_.cfg.max_history_request;
  uint64_t limit = std::min<uint64_t>(Snapshots::kDefaultLimit, max);
  std::string value;
  if (http::QueryParam(req.query, "limit", &value) &&
      (!http::ParseDecimal(value, &limit) || limit > max)) {
    return ctx_.RespondError(c, a, 400, "bad_request",
                             "limit must be a whole number from 0 to " + std::to_string(max) +
                                 " (--max-history-request)");
  }
  snapshots_.Request(c, a, room, static_cast<uint32_t>(limit), req.Find("If-None-Match"));
}

void HttpSession::OnHistoryReply(const mesh::HistoryReply& rep) {
  Session& s = ctx_.Sess(rep.to.conn);
  s.flags &= static_cast<uint8_t>(~kAwaitingAck);
  const bool keep_alive = !(s.flags & kClosingSess);
  s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
  ctx_.RespondHttp(rep.to.conn,
                   http::BuildResponse(200, "application/json", HistoryBody(rep), keep_alive,
                                       ctx_.CorsHeaders(rep.cors)),
                   keep_alive);
  if (keep_alive) ctx_.held.ResumeHeldInput(rep.to.conn);
}

}  // namespace roomcast::session
