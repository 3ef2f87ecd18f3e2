// The handlers' shared context: HTTP answers, CORS and the asks every front makes.
#include "context.h"

#include <cctype>
#include <ctime>

#include "base/json_writer.h"
#include "base/log.h"

namespace roomcast::session {

namespace {

int64_t UnixMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The status code of a whole HTTP answer ("HTTP/1.1 200 OK\r\n..."); 0 when it is none.
int StatusOf(std::string_view response) {
  const size_t sp = response.find(' ');
  if (sp == std::string_view::npos || sp + 4 > response.size()) return 0;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (response[i] < '0' || response[i] > '9') return 0;
    status = status * 10 + (response[i] - '0');
  }
  return status;
}

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

Context::Context(const Config& config, const SessionOptions& o, ConnOutput* output,
                 RoomClient* room_client, ServerStatus* server, ShardMetrics* counters,
                 HeldInput* held_input)
    : cfg(config),
      shard(o.shard),
      shards(o.shards),
      access(o.access_log, &table),
      out(*access.Wrap(output)),
      rooms(*room_client),
      status(*server),
      metrics(*counters),
      held(*held_input),
      table(o.shard),
      token_keys_(o.token_keys) {
  ApplyLiveSettings(cfg.admin_key, cfg.cors_origins);
  text_limits.max_code_points = cfg.max_text;
  http_limits.max_head_bytes = cfg.max_head;
  http_limits.max_headers = cfg.max_headers;
}

void Context::ApplyLiveSettings(std::string_view admin, std::string_view cors_origins) {
  admin_key = admin;
  cors_origins_ = cors_origins;
  cors_headers_.assign(256, std::string());
  cors_list_.clear();
  cors_headers_[kCorsAny] = "Access-Control-Allow-Origin: *\r\n";
  std::string_view list = cors_origins_;
  for (size_t i = kCorsFirstListed; !list.empty() && list != "*" && i < kCorsDenied; ++i) {
    const size_t comma = list.find(',');
    std::string_view origin = list.substr(0, comma);
    while (!origin.empty() && origin.front() == ' ') origin.remove_prefix(1);
    while (!origin.empty() && origin.back() == ' ') origin.remove_suffix(1);
    cors_list_.emplace_back(origin);
    cors_headers_[i] =
        "Access-Control-Allow-Origin: " + std::string(origin) + "\r\nVary: Origin\r\n";
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
}

void Context::NoteRefusal(ConnId c, int status_code, std::string_view code,
                          std::string_view message) {
  if (!LogEnabled(LogLevel::kDebug)) return;
  constexpr uint32_t kRefusalLinesPerSec = 20;
  const uint64_t second = out.NowMs() / 1000;
  if (second != refusal_window_s_) {
    refusal_window_s_ = second;
    refusal_lines_ = 0;
  }
  if (++refusal_lines_ > kRefusalLinesPerSec) {
    ++refusals_unlogged_;
    return;
  }
  const std::string what =
      status_code == 0 ? std::string("WebSocket error") : std::to_string(status_code);
  RC_DEBUG(
      shard, "conn %u: refused (%s %.*s): %.*s%s", c, what.c_str(), static_cast<int>(code.size()),
      code.data(), static_cast<int>(message.size()), message.data(),
      refusals_unlogged_
          ? (" [+" + std::to_string(refusals_unlogged_) + " refusals not logged, over 20 lines/s]")
                .c_str()
          : "");
  refusals_unlogged_ = 0;
}

void Context::CloseConn(ConnId c, CloseMode mode) {
  Sess(c).flags |= kClosingSess;
  out.Close(c, mode);
}

void Context::RespondHttp(ConnId c, std::string response, bool keep_alive) {
  metrics.CountHttpResponse(response);
  const int status = access.On() ? StatusOf(response) : 0;
  out.EnqueueCopy(c, std::move(response));
  access.Answered(c, status);
  if (!keep_alive) CloseConn(c, CloseMode::kGraceful);
}

void Context::CountAnswer(ConnId c, int status) {
  metrics.CountHttpStatus(status);
  access.Answered(c, status);
}

void Context::Respond(ConnId c, AnswerForm a, std::string response) {
  if (a.head_only) {
    const size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) response.resize(end + 4);
  }
  RespondHttp(c, std::move(response), a.keep_alive);
}

void Context::RespondError(ConnId c, AnswerForm a, int status_code, std::string_view code,
                           std::string_view message) {
  metrics.CountError(code);
  NoteRefusal(c, status_code, code, message);
  Respond(c, a,
          http::BuildJsonError(status_code, code, message, a.keep_alive, CorsHeaders(a.cors)));
}

void Context::RespondRefusal(ConnId c, AnswerForm a, chat::Refusal r, uint64_t retry_ms) {
  const chat::RefusalInfo& e = chat::Describe(r);
  if (retry_ms == 0) return RespondError(c, a, e.http_status, e.code, e.text);
  metrics.CountError(e.code);
  NoteRefusal(c, e.http_status, e.code, e.text);
  std::string body = R"({"error":)";
  json::AppendString(&body, e.code);
  body += R"(,"message":)";
  json::AppendString(&body, e.text);
  body += R"(,"retry_ms":)";
  json::AppendUint(&body, retry_ms);
  body += '}';
  std::string headers(CorsHeaders(a.cors));
  headers += "Retry-After: " + std::to_string((retry_ms + 999) / 1000) + "\r\n";
  Respond(c, a,
          http::BuildResponse(e.http_status, "application/json", body, a.keep_alive, headers));
}

AnswerForm Context::NoRequestForm() const {
  return {false, cors_origins_ == "*" ? kCorsAny : kCorsNone};
}

uint8_t Context::CorsIndex(const http::Request& req) const {
  // "*" goes on every answer (as the same bytes: shared answers stay shared); a listed origin
  // is echoed only to a request that names it.
  if (cors_origins_ == "*") return kCorsAny;
  bool has_origin = false;
  const std::string_view origin = req.Find("Origin", &has_origin);
  if (!has_origin) return kCorsNone;
  for (size_t i = 0; i < cors_list_.size(); ++i) {
    if (cors_list_[i] == origin) return static_cast<uint8_t>(kCorsFirstListed + i);
  }
  return kCorsDenied;
}

bool Context::OriginRefused(const http::Request& req, AnswerForm a) const {
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

void Context::Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op,
                      bool admin, uint8_t cors) {
  ShardMetrics::Add(metrics.messages_in_total, 1);
  mesh::PublishReq req;
  req.room = room;
  req.user = admin ? op.user : table.UserName(c);
  if (const UserProfile* p = admin ? nullptr : table.Profile(c)) {
    req.name = p->id.name;
    req.badges_json = p->badges_json;
    req.roles = p->id.RolesIn(room);
  }
  req.text = op.text;
  req.cid = op.cid;
  req.ts_ms = UnixMs();
  req.to = {c, Sess(c).gen};
  req.http = http;
  req.cors = cors;
  req.prio = admin && op.prio;
  req.admin = admin;
  if (admin) req.kind = op.msg_kind;
  rooms.Publish(std::move(req));
}

void Context::React(ConnId c, std::string_view room, std::string_view emote) {
  mesh::ReactReq req;
  req.room = room;
  // "~" is no user name's character: an anonymous connection never shares a user's bucket.
  req.reactor = table.Profile(c) != nullptr ? table.UserName(c) : "~" + table.UserName(c);
  req.emote = emote;
  req.to = {c, Sess(c).gen};
  rooms.React(std::move(req));
}

void Context::Moderate(ConnId c, bool http, std::string_view room, const chat::ModOp& op,
                       bool by_admin_key, uint8_t cors) {
  mesh::ModerateReq req;
  req.room = room;
  req.op = op;
  req.by_admin_key = by_admin_key;
  if (by_admin_key) {
    req.actor = "admin";
  } else {
    req.actor = table.UserName(c);
    if (const UserProfile* p = table.Profile(c)) req.actor_roles = p->id.RolesIn(room);
  }
  req.ts_ms = UnixMs();
  req.to = {c, Sess(c).gen};
  req.http = http;
  req.cors = cors;
  rooms.Moderate(std::move(req));
}

void Context::Retract(ConnId c, std::string_view room, uint64_t target, const chat::RetractBody& b,
                      uint8_t cors) {
  rooms.Retract(mesh::RetractReq{
      std::string(room), target, b.reason, b.by, UnixMs(), {c, Sess(c).gen}, cors});
}

}  // namespace roomcast::session
