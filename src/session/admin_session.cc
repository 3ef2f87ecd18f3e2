// The admin protocol handler (admin_session.h). Shard thread only.
#include "admin_session.h"

#include <string>

namespace roomcast::session {

namespace {

// Compares without stopping at the first difference, so that timing does not tell how much of
// a guessed key was right (its length is no secret: the rules give it).
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace

bool AdminSession::Authorized(ConnId c, const http::Request& req, AnswerForm a) {
  const bool ka = a.keep_alive;
  if (ctx_.admin_key.empty()) {
    ctx_.RespondError(c, a, 403, "forbidden",
                      "the admin API is off: start the server with --admin-key");
    return false;
  }
  std::string_view auth = req.Find("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer ||
      !SameSecret(auth.substr(kBearer.size()), ctx_.admin_key)) {
    ctx_.metrics.CountError("unauthorized");
    ctx_.RespondHttp(
        c,
        http::BuildJsonError(401, "unauthorized",
                             "missing or wrong admin key (Authorization: Bearer KEY)", ka,
                             std::string(ctx_.CorsHeaders(a.cors)) +
                                 "WWW-Authenticate: Bearer realm=\"roomcast-admin\"\r\n"),
        ka);
    return false;
  }
  return true;
}

// One admin endpoint under /admin/rooms/R/: its path after the room (a trailing "*" takes one
// more segment) and its method.
struct AdminEndpoint {
  std::string_view what;
  std::string_view method;
  enum Kind { kPublish, kRetract, kModerate } kind;
  chat::ModAction action = chat::ModAction::kBan;
};

namespace {

constexpr AdminEndpoint kAdminEndpoints[] = {
    {"publish", "POST", AdminEndpoint::kPublish},
    {"messages/*", "DELETE", AdminEndpoint::kRetract},
    {"bans", "POST", AdminEndpoint::kModerate, chat::ModAction::kBan},
    {"bans", "GET", AdminEndpoint::kModerate, chat::ModAction::kListBans},
    {"bans/*", "DELETE", AdminEndpoint::kModerate, chat::ModAction::kUnban},
    {"clear", "POST", AdminEndpoint::kModerate, chat::ModAction::kClear},
    {"modes", "POST", AdminEndpoint::kModerate, chat::ModAction::kMode},
    {"audit", "GET", AdminEndpoint::kModerate, chat::ModAction::kAudit},
};

bool PathMatches(std::string_view pattern, std::string_view what, std::string_view* arg) {
  if (pattern.ends_with('*')) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    if (!what.starts_with(prefix)) return false;
    *arg = what.substr(prefix.size());
    return !arg->empty() && arg->find('/') == std::string_view::npos;
  }
  return what == pattern;
}

}  // namespace

void AdminSession::Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view body) {
  constexpr std::string_view kPrefix = "/admin/rooms/";
  std::string_view rest = req.path.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view room = rest.substr(0, slash);
  const std::string_view what =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  const AdminEndpoint* found = nullptr;
  std::string allowed;
  std::string_view arg;
  for (const AdminEndpoint& e : kAdminEndpoints) {
    if (!PathMatches(e.what, what, &arg)) continue;
    if (req.method == e.method || (req.method == "HEAD" && e.method == "GET")) {
      found = &e;
      break;
    }
    allowed += allowed.empty() ? "" : " or ";
    allowed += e.method;
  }
  if (!found && allowed.empty()) {
    return ctx_.RespondError(c, a, 404, "not_found", "no such endpoint");
  }
  if (!found) return ctx_.RespondError(c, a, 405, "method_not_allowed", "use " + allowed);
  if (!Authorized(c, req, a)) return;
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  if (ctx_.draining)
    return ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  switch (found->kind) {
    case AdminEndpoint::kRetract:
      return HandleRetract(c, room, arg, a, body);
    case AdminEndpoint::kModerate:
      return HandleModerate(c, req, room, *found, arg, a, body);
    case AdminEndpoint::kPublish:
      break;
  }
  chat::ClientOp op;
  chat::OpError err = ctx_.op_parser.ParseAdminPublish(body, ctx_.text_limits, &op);
  if (err.refusal != chat::Refusal::kNone) {
    return ctx_.RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  AwaitAck(c, a);
  ctx_.Publish(c, true, room, op, /*admin=*/true, a.cors);
}

void AdminSession::HandleModerate(ConnId c, const http::Request& req, std::string_view room,
                                  const AdminEndpoint& e, std::string_view arg, AnswerForm a,
                                  std::string_view body) {
  chat::ModOp op;
  const bool listing =
      e.action == chat::ModAction::kListBans || e.action == chat::ModAction::kAudit;
  // DELETE .../bans/U names its user in the path: the body may give a reason only (parsed as a
  // clear's, whose "user" is optional).
  const chat::ModAction parse_as =
      e.action == chat::ModAction::kUnban ? chat::ModAction::kClear : e.action;
  chat::OpError err =
      ctx_.op_parser.ParseModBody(listing ? std::string_view{} : body, parse_as, &op);
  op.action = e.action;
  if (err.refusal != chat::Refusal::kNone) {
    return ctx_.RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  if (e.action == chat::ModAction::kUnban) {
    if (!chat::IsValidUserName(arg)) {
      return ctx_.RespondError(c, a, 400, "bad_request",
                               "the user must be 1..64 bytes of [A-Za-z0-9_.:-]");
    }
    op.user.assign(arg);
  }
  if (e.action == chat::ModAction::kAudit) {
    std::string value;
    uint64_t limit = op.limit;
    if (http::QueryParam(req.query, "limit", &value) &&
        (!http::ParseDecimal(value, &limit) || limit == 0 || limit > chat::kMaxAuditLimit)) {
      return ctx_.RespondError(c, a, 400, "bad_request",
                               "limit must be a whole number from 1 to 1000");
    }
    op.limit = static_cast<uint32_t>(limit);
  }
  AwaitAck(c, a);
  ctx_.Moderate(c, true, room, op, /*by_admin_key=*/true, a.cors);
}

void AdminSession::AwaitAck(ConnId c, AnswerForm a) {
  Session& s = ctx_.Sess(c);
  s.flags |= kAwaitingAck;
  if (!a.keep_alive) s.flags |= kClosingSess;
}

void AdminSession::HandleRetract(ConnId c, std::string_view room, std::string_view seq,
                                 AnswerForm a, std::string_view body) {
  uint64_t target = 0;
  if (!http::ParseDecimal(seq, &target) || target == 0) {
    return ctx_.RespondError(c, a, 400, "bad_request",
                             "the message seq must be a whole number from 1");
  }
  chat::RetractBody rb;
  chat::OpError err = ctx_.op_parser.ParseRetract(body, &rb);
  if (err.refusal != chat::Refusal::kNone) {
    return ctx_.RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  AwaitAck(c, a);
  ctx_.Retract(c, room, target, rb, a.cors);
}

}  // namespace roomcast::session
