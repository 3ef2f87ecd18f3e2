// The admin protocol handler (Authorization: Bearer <--admin-key>):
//   POST   /admin/rooms/R/publish      {"text","cid"?,"user"?,"prio"?,"kind"?} -> {"seq","id"}
//   DELETE /admin/rooms/R/messages/S   {"reason"?,"by"?} (body optional)   -> {"retracted","seq"}
// Without --admin-key the admin API is off (403). A request that was taken waits for the owner's
// ack (kAwaitingAck, input held) and is answered by HttpSession::OnAck. Shard thread only.
#pragma once

#include <string_view>

#include "context.h"
#include "http/http_parser.h"

namespace roomcast::session {

class AdminSession {
 public:
  explicit AdminSession(Context* ctx) : ctx_(*ctx) {}
  void Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view body);

 private:
  [[nodiscard]] bool Authorized(ConnId c, const http::Request& req, AnswerForm a);
  void HandleRetract(ConnId c, std::string_view room, std::string_view seq, AnswerForm a,
                     std::string_view body);

  Context& ctx_;
};

}  // namespace roomcast::session
