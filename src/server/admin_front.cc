// The admin endpoints (Authorization: Bearer <--admin-key>):
//   POST   /admin/rooms/R/publish      {"text","cid"?,"user"?,"prio"?,"kind"?} -> {"seq","id"}
//   DELETE /admin/rooms/R/messages/S   {"reason"?,"by"?} (body optional)   -> {"retracted","seq"}
// Without --admin-key the admin API is off (403). Shard thread only.
#include <string>

#include "shard.h"

namespace roomcast::server {

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

bool Shard::AdminAuthorized(ConnId c, const http::Request& req, AnswerForm a) {
  const bool ka = a.keep_alive;
  if (live_->admin_key.empty()) {
    RespondError(c, a, 403, "forbidden", "the admin API is off: start the server with --admin-key");
    return false;
  }
  std::string_view auth = req.Find("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer ||
      !SameSecret(auth.substr(kBearer.size()), live_->admin_key)) {
    metrics_.CountError("unauthorized");
    RespondHttp(c,
                http::BuildJsonError(401, "unauthorized",
                                     "missing or wrong admin key (Authorization: Bearer KEY)", ka,
                                     std::string(CorsHeaders(a.cors)) +
                                         "WWW-Authenticate: Bearer realm=\"roomcast-admin\"\r\n"),
                ka);
    return false;
  }
  return true;
}

void Shard::HandleAdmin(ConnId c, const http::Request& req, AnswerForm a, std::string_view body) {
  const bool ka = a.keep_alive;
  constexpr std::string_view kPrefix = "/admin/rooms/";
  std::string_view rest = req.path.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view room = rest.substr(0, slash);
  const std::string_view what =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  const bool publish = what == "publish";
  const bool retract = what.substr(0, 9) == "messages/";
  if (!publish && !retract) return RespondError(c, a, 404, "not_found", "no such endpoint");
  if (publish && req.method != "POST") {
    return RespondError(c, a, 405, "method_not_allowed", "use POST");
  }
  if (retract && req.method != "DELETE") {
    return RespondError(c, a, 405, "method_not_allowed", "use DELETE");
  }
  if (!AdminAuthorized(c, req, a)) return;
  if (!chat::IsValidRoomId(room)) {
    return RespondError(c, a, 400, "bad_request", "room must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  if (draining_) return RespondError(c, a.Closing(), 503, "draining", "server is draining");
  Session& s = Sess(c);
  if (publish) {
    chat::ClientOp op;
    chat::OpError err = op_parser_.ParseAdminPublish(body, text_limits_, &op);
    if (err.refusal != chat::Refusal::kNone) {
      return RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
    }
    s.flags |= kAwaitingAck;
    if (!ka) s.flags |= kClosingSess;
    return Publish(c, true, room, op, /*admin=*/true, a.cors);
  }
  uint64_t target = 0;
  if (!http::ParseDecimal(what.substr(9), &target) || target == 0) {
    return RespondError(c, a, 400, "bad_request", "the message seq must be a whole number from 1");
  }
  chat::RetractBody rb;
  chat::OpError err = op_parser_.ParseRetract(body, &rb);
  if (err.refusal != chat::Refusal::kNone) {
    return RespondError(c, a, chat::Describe(err.refusal).http_status, err.code, err.message);
  }
  s.flags |= kAwaitingAck;
  if (!ka) s.flags |= kClosingSess;
  Retract(c, room, target, rb, a.cors);
}

}  // namespace roomcast::server
