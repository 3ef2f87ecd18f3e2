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

void AdminSession::Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view body) {
  constexpr std::string_view kPrefix = "/admin/rooms/";
  std::string_view rest = req.path.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view room = rest.substr(0, slash);
  const std::string_view what =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  const bool publish = what == "publish";
  const bool retract = what.substr(0, 9) == "messages/";
  if (!publish && !retract) return ctx_.RespondError(c, a, 404, "not_found", "no such endpoint");
  if (publish && req.method != "POST") {
    return ctx_.RespondError(c, a, 405, "method_not_allowed", "use POST");
  }
  if (retract && req.method != "DELETE") {
    return ctx_.RespondError(c, a, 405, "method_not_allowed", "use DELETE");
  }
  if (!Authorized(c, req, a)) return;
  if (!chat::IsValidRoomId(room)) return ctx_.RespondError(c, a, 400, "bad_request", kRoomRule);
  if (ctx_.draining)
    return ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  if (retract) return HandleRetract(c, room, what.substr(9), a, body);
  chat::ClientOp op;
  chat::OpError err = ctx_.op_parser.ParseAdminPublish(body, ctx_.text_limits, &op);
  if (err.refusal != chat::Refusal::kNone) {
    return ctx_.RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  Session& s = ctx_.Sess(c);
  s.flags |= kAwaitingAck;
  if (!a.keep_alive) s.flags |= kClosingSess;
  ctx_.Publish(c, true, room, op, /*admin=*/true, a.cors);
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
  Session& s = ctx_.Sess(c);
  s.flags |= kAwaitingAck;
  if (!a.keep_alive) s.flags |= kClosingSess;
  ctx_.Retract(c, room, target, rb, a.cors);
}

}  // namespace roomcast::session
