// The admin protocol handler (Authorization: Bearer <--admin-key>):
//   POST   /admin/rooms/R/publish      {"text","cid"?,"user"?,"prio"?,"kind"?} -> {"seq","id"}
//   DELETE /admin/rooms/R/messages/S   {"reason"?,"by"?} (body optional)   -> {"retracted","seq"}
//   POST   /admin/rooms/R/bans         {"user","secs"?,"shadow"?,"reason"?} -> {"op":"ban"}
//   GET    /admin/rooms/R/bans                                              -> {"room","bans"}
//   DELETE /admin/rooms/R/bans/U                                            -> {"op":"unban"}
//   POST   /admin/rooms/R/clear        {"user"?,"reason"?}       -> {"op":"clear","seq"?}
//   POST   /admin/rooms/R/modes        {"slow_secs"?,...}        -> {"op":"mode","seq"}
//   GET    /admin/rooms/R/audit?limit=N (1..1000, default 50)    -> {"room","audit"}
// Without --admin-key the admin API is off (403). A request that was taken waits for the owner's
// ack (kAwaitingAck, input held) and is answered by HttpSession::OnAck. Shard thread only.
#pragma once

#include <string_view>

#include "context.h"
#include "http/http_parser.h"

namespace roomcast::session {

struct AdminEndpoint;

class AdminSession {
 public:
  explicit AdminSession(Context* ctx) : ctx_(*ctx) {}
  void Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view body);

 private:
  [[nodiscard]] bool Authorized(ConnId c, const http::Request& req, AnswerForm a);
  void HandleRetract(ConnId c, std::string_view room, std::string_view seq, AnswerForm a,
                     std::string_view body);
  void HandleModerate(ConnId c, const http::Request& req, std::string_view room,
                      const AdminEndpoint& e, std::string_view arg, AnswerForm a,
                      std::string_view body);
  // The request waits for the owner's answer (HttpSession::OnAck), input held.
  void AwaitAck(ConnId c, AnswerForm a);

  Context& ctx_;
};

}  // namespace roomcast::session
