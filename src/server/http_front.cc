// The HTTP side of a connection: request heads and bodies, the router, the WebSocket upgrade and
// the HTTP send. Shard thread only.
#include <cctype>
#include <string>

#include "base/json_writer.h"
#include "base/log.h"
#include "shard.h"
#include "web/static_files.h"
#include "ws/ws_handshake.h"

namespace roomcast::server {

namespace {

constexpr std::string_view kRoomRule = "room must be 1..64 bytes of [A-Za-z0-9_.:-]";
constexpr std::string_view kUserRule = "user must be 1..64 bytes of [A-Za-z0-9_.:-]";

}  // namespace

bool ParseEpochParam(const http::Request& req, std::string* epoch) {
  epoch->clear();
  if (!http::QueryParam(req.query, "epoch", epoch)) return true;
  if (epoch->empty() || epoch->size() > 64) return false;
  for (char ch : *epoch) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
      return false;
    }
  }
  return true;
}

size_t Shard::ProcessHttp(ConnId c, std::span<const uint8_t> data) {
  std::string_view buf(reinterpret_cast<const char*>(data.data()), data.size());
  http::Request req;
  http::ParseStatus st = http::ParseRequestHead(buf, http_limits_, &req);
  switch (st) {
    case http::ParseStatus::kIncomplete:
      return 0;
    case http::ParseStatus::kBadRequest:
      RespondError(c, NoRequestForm(), 400, "bad_request", "malformed HTTP request head");
      return data.size();
    case http::ParseStatus::kHeadTooLarge:
      RespondError(c, NoRequestForm(), 431, "too_large",
                   "request head too large or too many headers");
      return data.size();
    case http::ParseStatus::kNotImplemented:
      RespondError(c, NoRequestForm(), 501, "not_implemented",
                   "Transfer-Encoding is not supported");
      return data.size();
    case http::ParseStatus::kComplete:
      break;
  }
  Sess(c).flags |= kSawRequest;
  if (req.content_length > cfg_.max_body) {
    RespondError(c, AnswerForm{false, CorsIndex(req)}, 413, "too_large",
                 "request body over " + std::to_string(cfg_.max_body) + " bytes");
    return data.size();
  }
  const size_t total = req.head_bytes + req.content_length;
  if (buf.size() < total) return 0;  // wait for the whole body
  std::string_view body = buf.substr(req.head_bytes, req.content_length);
  HandleRequest(c, req, body);
  return total;
}

void Shard::RespondHttp(ConnId c, std::string response, bool keep_alive) {
  metrics_.CountHttpResponse(response);
  loop_.EnqueueCopy(c, std::move(response));
  if (!keep_alive) {
    Sess(c).flags |= kClosingSess;
    loop_.Close(c, io::CloseMode::kGraceful);
  }
}

void Shard::Respond(ConnId c, AnswerForm a, std::string response) {
  if (a.head_only) {
    const size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) response.resize(end + 4);
  }
  RespondHttp(c, std::move(response), a.keep_alive);
}

void Shard::RespondError(ConnId c, AnswerForm a, int status, std::string_view code,
                         std::string_view message) {
  metrics_.CountError(code);
  NoteRefusal(c, status, code, message);
  Respond(c, a, http::BuildJsonError(status, code, message, a.keep_alive, CorsHeaders(a.cors)));
}

AnswerForm Shard::NoRequestForm() const {
  return {false, live_->cors_origins == "*" ? kCorsAny : kCorsNone};
}

uint8_t Shard::CorsIndex(const http::Request& req) const {
  // "*" goes on every answer (as the same bytes: shared answers stay shared); a listed origin
  // is echoed only to a request that names it.
  if (live_->cors_origins == "*") return kCorsAny;
  bool has_origin = false;
  const std::string_view origin = req.Find("Origin", &has_origin);
  if (!has_origin) return kCorsNone;
  for (size_t i = 0; i < cors_list_.size(); ++i) {
    if (cors_list_[i] == origin) return static_cast<uint8_t>(kCorsFirstListed + i);
  }
  return kCorsDenied;
}

std::string_view Shard::CorsHeaders(uint8_t idx) const { return cors_headers_[idx]; }

bool Shard::OriginRefused(const http::Request& req, AnswerForm a) const {
  if (a.cors != kCorsDenied) return false;
  // A page served by this server itself (the demo) is same-origin: its authority is our Host.
  std::string_view origin = req.Find("Origin");
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) == scheme) {
      origin.remove_prefix(scheme.size());
      break;
    }
  }
  const std::string_view host = req.Find("Host");
  if (origin.size() != host.size() || host.empty()) return true;
  for (size_t i = 0; i < host.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(origin[i])) !=
        std::tolower(static_cast<unsigned char>(host[i]))) {
      return true;
    }
  }
  return false;
}

void Shard::HandlePreflight(ConnId c, AnswerForm a) {
  if (a.cors == kCorsDenied) {
    RespondError(c, a, 403, "forbidden", "origin not allowed (see --cors-origins)");
    return;
  }
  std::string extra(CorsHeaders(a.cors));
  extra +=
      "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
      "Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID\r\n"
      "Access-Control-Max-Age: 600\r\n";
  RespondHttp(c, http::BuildResponse(204, "", "", a.keep_alive, extra), a.keep_alive);
}

void Shard::HandleRequest(ConnId c, const http::Request& req, std::string_view body) {
  const bool ka = req.keep_alive && !draining_;
  const std::string_view path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  const AnswerForm a{ka, CorsIndex(req), req.method == "HEAD"};
  const std::string_view cors = CorsHeaders(a.cors);
  if (path == "/healthz") {
    if (!get) return RespondError(c, a, 405, "method_not_allowed", "use GET");
    Respond(c, a, http::BuildResponse(200, "application/json", R"({"status":"ok"})", ka, cors));
    return;
  }
  if (path == "/readyz") {
    if (!get) return RespondError(c, a, 405, "method_not_allowed", "use GET");
    if (draining_ || shared_->drain_notice.load(std::memory_order_relaxed)) {
      return RespondError(c, a.Closing(), 503, "draining", "server is draining");
    }
    if (shared_->logs_broken.load(std::memory_order_relaxed) > 0) {
      return RespondError(c, a, 503, "unavailable",
                          "the message log cannot be written: publishes are refused");
    }
    Respond(c, a, http::BuildResponse(200, "application/json", R"({"status":"ready"})", ka, cors));
    return;
  }
  if (path == "/metrics") {
    if (!get) return RespondError(c, a, 405, "method_not_allowed", "use GET");
    Respond(c, a, http::BuildResponse(200, "text/plain; version=0.0.4", RenderMetrics(), ka, cors));
    return;
  }
  if (path == "/ws") {
    if (req.method != "GET") return RespondError(c, a, 405, "method_not_allowed", "use GET");
    return HandleUpgrade(c, req, a);
  }
  if (path.substr(0, 13) == "/admin/rooms/") return HandleAdmin(c, req, a, body);
  if (cfg_.debug_stall && path == "/debug/stall") return HandleDebugStall(c, req, a);
  constexpr std::string_view kRooms = "/rooms/";
  if (path.substr(0, kRooms.size()) == kRooms) {
    if (req.method == "OPTIONS") return HandlePreflight(c, a);
    const std::string_view rest = path.substr(kRooms.size());
    const size_t slash = rest.rfind('/');
    const std::string_view room = slash == std::string_view::npos ? rest : rest.substr(0, slash);
    const std::string_view what =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (what == "messages" && !room.empty()) {
      if (req.method == "POST") return HandleHttpSend(c, req, a, room, body);
      if (req.method == "GET") return HandlePoll(c, req, a, room);
      return RespondError(c, a, 405, "method_not_allowed", "use GET to poll or POST to send");
    }
    if (what == "events" && !room.empty()) {
      if (req.method == "GET") return HandleSse(c, req, a, room);
      return RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
    if (what == "history" && !room.empty()) {
      if (req.method == "GET") return HandleHistory(c, req, a, room);
      return RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
  }
  // The JS client and the demo page (src/web): GET and HEAD only.
  if (const web::StaticFile* f = web::FindStatic(path, !cfg_.no_demo)) {
    if (!get) return RespondError(c, a, 405, "method_not_allowed", "use GET");
    const std::string_view inm = req.Find("If-None-Match");
    return RespondHttp(c, web::StaticResponse(*f, req.method == "HEAD", inm, ka, cors), ka);
  }
  RespondError(c, a, 404, "not_found", "no such endpoint");
}

void Shard::HandleUpgrade(ConnId c, const http::Request& req, AnswerForm a) {
  std::string room;
  if (!http::QueryParam(req.query, "room", &room) || !chat::IsValidRoomId(room)) {
    RespondError(c, a.Closing(), 400, "bad_request", kRoomRule);
    return;
  }
  std::string user;
  if (http::QueryParam(req.query, "user", &user) && !chat::IsValidUserName(user)) {
    RespondError(c, a.Closing(), 400, "bad_request", kUserRule);
    return;
  }
  uint64_t history = 0;
  std::string history_s;
  if (http::QueryParam(req.query, "history", &history_s) &&
      !http::ParseDecimal(history_s, &history)) {
    RespondError(c, a.Closing(), 400, "bad_request", "history must be a whole number");
    return;
  }
  uint64_t since = kNoSince;
  if (http::QueryParam(req.query, "since", &history_s) && !http::ParseDecimal(history_s, &since)) {
    RespondError(c, a.Closing(), 400, "bad_request", "since must be a whole number");
    return;
  }
  std::string epoch;
  if (!ParseEpochParam(req, &epoch)) {
    RespondError(c, a.Closing(), 400, "bad_request", kEpochRule);
    return;
  }
  if (OriginRefused(req, a)) {  // a browser page of another origin (WebSocket has no CORS)
    RespondError(c, a.Closing(), 403, "forbidden", "origin not allowed (see --cors-origins)");
    return;
  }
  if (!req.HeaderHasToken("Upgrade", "websocket") || !req.HeaderHasToken("Connection", "upgrade")) {
    RespondError(c, a.Closing(), 400, "bad_request", "expected a WebSocket upgrade request");
    return;
  }
  if (req.Find("Sec-WebSocket-Version") != "13") {
    RespondHttp(
        c,
        http::BuildResponse(426, "application/json",
                            R"({"error":"bad_request","message":"WebSocket version 13 required"})",
                            false, "Sec-WebSocket-Version: 13\r\n"),
        false);
    return;
  }
  std::string_view key = req.Find("Sec-WebSocket-Key");
  if (!ws::IsValidClientKey(key)) {
    RespondError(c, a.Closing(), 400, "bad_request", "missing or malformed Sec-WebSocket-Key");
    return;
  }
  if (draining_) {
    RespondError(c, a.Closing(), 503, "draining", "server is draining");
    return;
  }
  loop_.EnqueueCopy(c, ws::UpgradeResponse(key));
  metrics_.CountHttpStatus(101);
  Session& s = Sess(c);
  s.kind = SessKind::kWsJoining;
  if (!user.empty()) sessions_.SetUser(c, user);
  const uint32_t h = static_cast<uint32_t>(std::min<uint64_t>(history, cfg_.max_history_request));
  StartJoin(c, room, h, JoinMode::kWs, since, epoch);
}

void Shard::HandleHttpSend(ConnId c, const http::Request& req, AnswerForm a, std::string_view room,
                           std::string_view body) {
  const bool ka = a.keep_alive;
  if (OriginRefused(req, a)) {  // e.g. a text/plain form POST, which needs no preflight
    RespondError(c, a, 403, "forbidden", "origin not allowed (see --cors-origins)");
    return;
  }
  if (!chat::IsValidRoomId(room)) {
    RespondError(c, a, 400, "bad_request", kRoomRule);
    return;
  }
  std::string user;
  if (http::QueryParam(req.query, "user", &user) && !chat::IsValidUserName(user)) {
    RespondError(c, a, 400, "bad_request", kUserRule);
    return;
  }
  chat::ClientOp op;
  chat::OpError err = op_parser_.ParseHttpSend(body, text_limits_, &op);
  if (err.refusal != chat::Refusal::kNone) {
    RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
    return;
  }
  Session& s = Sess(c);
  s.flags |= kAwaitingAck;
  if (!ka) s.flags |= kClosingSess;  // answer, then close (see OnAck)
  if (!user.empty()) sessions_.SetUser(c, user);
  Publish(c, true, room, op, /*admin=*/false, a.cors);
  return;
}

}  // namespace roomcast::server
