// The server-sent-events protocol handler: GET /rooms/R/events. States (SessKind):
//   kHttp --request accepted (stream head queued, join asked)--> kSseJoining
//   kSseJoining --join answered, last page--> kSse (welcome, backlog, then the room's batches)
//   kSseJoining --catch-up page--> kSseJoining (next page asked when the queue has room)
//   kSseJoining --refused--> closing (an error event first)
// A client has nothing more to say on a stream: its input is ignored. A comment line goes to
// every stream every --sse-heartbeat-secs. Shard thread only.
#pragma once

#include <string_view>

#include "context.h"
#include "http/http_parser.h"
#include "viewers.h"

namespace roomcast::session {

class SseSession {
 public:
  SseSession(Context* ctx, Viewers* viewers) : ctx_(*ctx), viewers_(*viewers) {}

  // Resumes after Last-Event-ID (or ?since=), else starts with the last ?history=N.
  void Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  void OnJoinReply(const mesh::JoinReply& rep);
  // Queues one shared heartbeat comment on every stream.
  void Heartbeat();

 private:
  Context& ctx_;
  Viewers& viewers_;
};

}  // namespace roomcast::session
