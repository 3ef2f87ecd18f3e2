// The HTTP side of a connection: request heads and bodies, the router, the WebSocket upgrade and
// the HTTP send. Shard thread only.
#include <string>

#include "roomcast/json_writer.h"
#include "roomcast/log.h"
#include "roomcast/static_files.h"
#include "roomcast/ws_handshake.h"
#include "shard.h"

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

void Shard::SetUser(ConnId c, const std::string& user) {
  Session& s = Sess(c);
  if (s.user_len > 0) {
    user_names_[s.user] = user;  // reuse this connection's slot
  } else if (!free_user_slots_.empty()) {
    s.user = free_user_slots_.back();
    free_user_slots_.pop_back();
    user_names_[s.user] = user;
  } else {
    s.user = static_cast<uint32_t>(user_names_.size());
    user_names_.push_back(user);
  }
  s.user_len = static_cast<uint16_t>(user.size());
}

size_t Shard::ProcessHttp(ConnId c, std::span<const uint8_t> data) {
  std::string_view buf(reinterpret_cast<const char*>(data.data()), data.size());
  http::Request req;
  http::ParseStatus st = http::ParseRequestHead(buf, http_limits_, &req);
  switch (st) {
    case http::ParseStatus::kIncomplete:
      return 0;
    case http::ParseStatus::kBadRequest:
      RespondError(c, 400, "bad_request", "malformed HTTP request head", false);
      return data.size();
    case http::ParseStatus::kHeadTooLarge:
      RespondError(c, 431, "too_large", "request head too large or too many headers", false);
      return data.size();
    case http::ParseStatus::kNotImplemented:
      RespondError(c, 501, "not_implemented", "Transfer-Encoding is not supported", false);
      return data.size();
    case http::ParseStatus::kComplete:
      break;
  }
  Sess(c).flags |= kSawRequest;
  if (req.content_length > cfg_.max_body) {
    RespondError(c, 413, "too_large",
                 "request body over " + std::to_string(cfg_.max_body) + " bytes", false);
    return data.size();
  }
  const size_t total = req.head_bytes + req.content_length;
  if (buf.size() < total) return 0;  // wait for the whole body
  std::string_view body = buf.substr(req.head_bytes, req.content_length);
  HandleRequest(c, req, body);
  return total;
}

void Shard::RespondHttp(ConnId c, std::string response, bool keep_alive) {
  loop_.EnqueueCopy(c, std::move(response));
  if (!keep_alive) {
    Sess(c).flags |= kClosingSess;
    loop_.Close(c, io::CloseMode::kGraceful);
  }
}

void Shard::RespondError(ConnId c, int status, std::string_view code, std::string_view message,
                         bool keep_alive) {
  ShardMetrics::Add(metrics_.errors_sent_total, 1);
  RespondHttp(c, http::BuildJsonError(status, code, message, keep_alive, CorsHeaders(cur_cors_)),
              keep_alive);
}

uint8_t Shard::CorsIndex(const http::Request& req) const {
  // "*" goes on every answer (as the same bytes: shared answers stay shared); a listed origin
  // is echoed only to a request that names it.
  if (cfg_.cors_origins == "*") return kCorsAny;
  bool has_origin = false;
  const std::string_view origin = req.Find("Origin", &has_origin);
  if (!has_origin) return kCorsNone;
  for (size_t i = 0; i < cors_list_.size(); ++i) {
    if (cors_list_[i] == origin) return static_cast<uint8_t>(kCorsFirstListed + i);
  }
  return kCorsDenied;
}

std::string_view Shard::CorsHeaders(uint8_t idx) const { return cors_headers_[idx]; }

void Shard::HandlePreflight(ConnId c, bool keep_alive) {
  if (cur_cors_ == kCorsDenied) {
    RespondError(c, 403, "forbidden", "origin not allowed (see --cors-origins)", keep_alive);
    return;
  }
  std::string extra(CorsHeaders(cur_cors_));
  extra +=
      "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
      "Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID\r\n"
      "Access-Control-Max-Age: 600\r\n";
  RespondHttp(c, http::BuildResponse(204, "", "", keep_alive, extra), keep_alive);
}

void Shard::HandleRequest(ConnId c, const http::Request& req, std::string_view body) {
  const bool ka = req.keep_alive && !draining_;
  const std::string_view path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  cur_cors_ = CorsIndex(req);
  const std::string_view cors = CorsHeaders(cur_cors_);
  if (path == "/healthz") {
    if (!get) return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    RespondHttp(c, http::BuildResponse(200, "application/json", R"({"status":"ok"})", ka, cors),
                ka);
    return;
  }
  if (path == "/readyz") {
    if (!get) return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    if (draining_) return RespondError(c, 503, "draining", "server is draining", false);
    RespondHttp(c, http::BuildResponse(200, "application/json", R"({"status":"ready"})", ka, cors),
                ka);
    return;
  }
  if (path == "/metrics") {
    if (!get) return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    RespondHttp(
        c, http::BuildResponse(200, "text/plain; version=0.0.4", RenderMetrics(), ka, cors), ka);
    return;
  }
  if (path == "/ws") {
    if (req.method != "GET") return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    return HandleUpgrade(c, req);
  }
  if (path.substr(0, 13) == "/admin/rooms/") return HandleAdmin(c, req, body);
  constexpr std::string_view kRooms = "/rooms/";
  if (path.substr(0, kRooms.size()) == kRooms) {
    if (req.method == "OPTIONS") return HandlePreflight(c, ka);
    const std::string_view rest = path.substr(kRooms.size());
    const size_t slash = rest.rfind('/');
    const std::string_view room = slash == std::string_view::npos ? rest : rest.substr(0, slash);
    const std::string_view what =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (what == "messages" && !room.empty()) {
      if (req.method == "POST") return HandleHttpSend(c, req, room, body);
      if (req.method == "GET") return HandlePoll(c, req, room);
      return RespondError(c, 405, "method_not_allowed", "use GET to poll or POST to send", ka);
    }
    if (what == "events" && !room.empty()) {
      if (req.method == "GET") return HandleSse(c, req, room);
      return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    }
    if (what == "history" && !room.empty()) {
      if (req.method == "GET") return HandleHistory(c, req, room);
      return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    }
  }
  // The JS client and the demo page (src/web): GET and HEAD only.
  if (const web::StaticFile* f = web::FindStatic(path, !cfg_.no_demo)) {
    if (!get) return RespondError(c, 405, "method_not_allowed", "use GET", ka);
    const std::string_view inm = req.Find("If-None-Match");
    return RespondHttp(c, web::StaticResponse(*f, req.method == "HEAD", inm, ka, cors), ka);
  }
  RespondError(c, 404, "not_found", "no such endpoint", ka);
}

void Shard::HandleUpgrade(ConnId c, const http::Request& req) {
  std::string room;
  if (!http::QueryParam(req.query, "room", &room) || !chat::IsValidRoomId(room)) {
    RespondError(c, 400, "bad_request", kRoomRule, false);
    return;
  }
  std::string user;
  if (http::QueryParam(req.query, "user", &user) && !chat::IsValidUserName(user)) {
    RespondError(c, 400, "bad_request", kUserRule, false);
    return;
  }
  uint64_t history = 0;
  std::string history_s;
  if (http::QueryParam(req.query, "history", &history_s) && !http::ParseDecimal(history_s, &history)) {
    RespondError(c, 400, "bad_request", "history must be a whole number", false);
    return;
  }
  uint64_t since = kNoSince;
  if (http::QueryParam(req.query, "since", &history_s) && !http::ParseDecimal(history_s, &since)) {
    RespondError(c, 400, "bad_request", "since must be a whole number", false);
    return;
  }
  std::string epoch;
  if (!ParseEpochParam(req, &epoch)) {
    RespondError(c, 400, "bad_request", kEpochRule, false);
    return;
  }
  if (!req.HeaderHasToken("Upgrade", "websocket") || !req.HeaderHasToken("Connection", "upgrade")) {
    RespondError(c, 400, "bad_request", "expected a WebSocket upgrade request", false);
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
    RespondError(c, 400, "bad_request", "missing or malformed Sec-WebSocket-Key", false);
    return;
  }
  if (draining_) {
    RespondError(c, 503, "draining", "server is draining", false);
    return;
  }
  loop_.EnqueueCopy(c, ws::UpgradeResponse(key));
  Session& s = Sess(c);
  s.kind = SessKind::kWsJoining;
  if (!user.empty()) SetUser(c, user);
  const uint32_t h = static_cast<uint32_t>(std::min<uint64_t>(history, cfg_.max_history_request));
  StartJoin(c, room, h, JoinMode::kWs, since, epoch);
}

void Shard::HandleHttpSend(ConnId c, const http::Request& req, std::string_view room,
                           std::string_view body) {
  const bool ka = req.keep_alive && !draining_;
  if (!chat::IsValidRoomId(room)) {
    RespondError(c, 400, "bad_request", kRoomRule, ka);
    return;
  }
  std::string user;
  if (http::QueryParam(req.query, "user", &user) && !chat::IsValidUserName(user)) {
    RespondError(c, 400, "bad_request", kUserRule, ka);
    return;
  }
  chat::ClientOp op;
  chat::OpError err = op_parser_.ParseHttpSend(body, text_limits_, &op);
  if (!err.code.empty()) {
    const int status = err.code == "too_large" ? 413 : err.code == "forbidden" ? 403 : 400;
    RespondError(c, status, err.code, err.message, ka);
    return;
  }
  Session& s = Sess(c);
  s.flags |= kAwaitingAck;
  if (!ka) s.flags |= kClosingSess;  // answer, then close (see OnAck)
  if (!user.empty()) SetUser(c, user);
  Publish(c, true, room, op);
  return;
}

}  // namespace roomcast::server
