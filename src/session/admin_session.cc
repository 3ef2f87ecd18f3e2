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
    {"terms", "GET", AdminEndpoint::kModerate, chat::ModAction::kGetTerms},
    {"terms", "PUT", AdminEndpoint::kModerate, chat::ModAction::kTerms},
    {"held", "GET", AdminEndpoint::kModerate, chat::ModAction::kHeld},
    {"held/*/allow", "POST", AdminEndpoint::kModerate, chat::ModAction::kAllow},
    {"held/*/deny", "POST", AdminEndpoint::kModerate, chat::ModAction::kDeny},
};

// Segment by segment; a "*" segment matches one non-empty segment, which goes to *arg.
bool PathMatches(std::string_view pattern, std::string_view what, std::string_view* arg) {
  while (true) {
    const size_t ps = pattern.find('/'), ws = what.find('/');
    const std::string_view p = pattern.substr(0, ps), w = what.substr(0, ws);
    if (p == "*") {
      if (w.empty()) return false;
      *arg = w;
    } else if (p != w) {
      return false;
    }
    if (ps == std::string_view::npos || ws == std::string_view::npos) {
      return ps == std::string_view::npos && ws == std::string_view::npos;
    }
    pattern.remove_prefix(ps + 1);
    what.remove_prefix(ws + 1);
  }
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
  if (what.empty() && slash == std::string_view::npos) {  // GET /admin/rooms/R
    if (req.method != "GET" && req.method != "HEAD") {
      return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
    }
    if (!Authorized(c, req, a)) return;
    if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
    return HandleRoomReport(c, room, a);
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
  const bool listing = e.action == chat::ModAction::kListBans ||
                       e.action == chat::ModAction::kAudit ||
                       e.action == chat::ModAction::kGetTerms ||
                       e.action == chat::ModAction::kHeld || e.action == chat::ModAction::kTerms;
  // DELETE .../bans/U names its user in the path: the body may give a reason only (parsed as a
  // clear's, whose "user" is optional).
  // So do allow and deny (the held id is in the path); a term list is read by ParseTerms.
  const bool path_names_it = e.action == chat::ModAction::kUnban ||
                             e.action == chat::ModAction::kAllow ||
                             e.action == chat::ModAction::kDeny;
  const chat::ModAction parse_as = path_names_it ? chat::ModAction::kClear : e.action;
  chat::OpError err =
      ctx_.op_parser.ParseModBody(listing ? std::string_view{} : body, parse_as, &op);
  op.action = e.action;
  if (err.refusal != chat::Refusal::kNone) {
    return ctx_.RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  if (e.action == chat::ModAction::kTerms && !ParseTerms(c, body, a, &op)) return;
  if (e.action == chat::ModAction::kAllow || e.action == chat::ModAction::kDeny) {
    if (!http::ParseDecimal(arg, &op.held_id) || op.held_id == 0) {
      return ctx_.RespondError(c, a, 400, "bad_request",
                               "the held message's id must be a whole number from 1");
    }
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

bool AdminSession::ParseTerms(ConnId c, std::string_view body, AnswerForm a, chat::ModOp* op) {
  std::string error;
  if (!chat::ParseTermList(body, chat::TermLimits{}, &op->rules, &error)) {
    ctx_.RespondError(c, a, 400, "bad_request", error);
    return false;
  }
  // Compiled here, on the shard that took the request, not on the room's owner: the owner only
  // swaps the compiled set in.
  op->compiled = chat::TermSet::Compile(op->rules, &error);
  if (!op->compiled) {
    ctx_.RespondError(c, a, 400, "bad_request", error);
    return false;
  }
  return true;
}

void AdminSession::HandleGlobalTerms(ConnId c, const http::Request& req, AnswerForm a,
                                     std::string_view body) {
  const bool put = req.method == "PUT";
  if (!put && req.method != "GET" && req.method != "HEAD") {
    return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET or PUT");
  }
  if (!Authorized(c, req, a)) return;
  if (ctx_.draining) {
    return ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  }
  chat::ModOp op;
  op.action = put ? chat::ModAction::kTerms : chat::ModAction::kGetTerms;
  if (put && !ParseTerms(c, body, a, &op)) return;
  AwaitAck(c, a);
  ctx_.Moderate(c, true, chat::kGlobalRoom, op, /*by_admin_key=*/true, a.cors);
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
