// The plain HTTP protocol handler: every connection starts here. It reads request heads and
// bodies (http::ParseRequestHead, --max-head, --max-body), routes each request, and answers the
// plain endpoints itself: /healthz, /readyz, /metrics, CORS preflights, the static client and
// demo, POST /rooms/R/messages (a send), GET /rooms/R/history (a page of what the room
// keeps) and GET /rooms/R/snapshot (snapshots.h). The other protocols take the connection over from
// here: GET /ws (WsSession), GET /rooms/R/events (SseSession), GET /rooms/R/messages (PollSession),
// /admin/ (AdminSession). States (SessKind kHttp and its flags):
//   kHttp --a send or a history request taken--> kHttp + kAwaitingAck (input held)
//   kHttp + kAwaitingAck --the owner's answer--> kHttp (held input goes on) or closed
//   kHttp --a request without keep-alive answered, or a malformed head--> closing
// Shard thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "admin_session.h"
#include "context.h"
#include "http/http_parser.h"
#include "poll_session.h"
#include "snapshots.h"
#include "sse_session.h"
#include "ws_session.h"

namespace roomcast::session {

class HttpSession {
 public:
  HttpSession(Context* ctx, WsSession* ws, SseSession* sse, PollSession* poll, AdminSession* admin)
      : ctx_(*ctx), ws_(*ws), sse_(*sse), poll_(*poll), admin_(*admin), snapshots_(ctx) {}

  // Request bytes; returns the bytes used (0: an incomplete head or body waits).
  size_t Process(ConnId c, std::span<const uint8_t> data);
  // The owner's answers to a send or an admin request, and to a history request.
  void OnAck(const mesh::AckReply& ack);
  void OnHistoryReply(const mesh::HistoryReply& rep);
  // The answer to a snapshot build (HistoryReply::latest), whoever asked.
  void OnSnapshotReply(const mesh::HistoryReply& rep) { snapshots_.OnReply(rep); }
  Snapshots& SnapshotCache() { return snapshots_; }

 private:
  // Handles one complete request. A request that ends the connection sets kClosingSess, which
  // stops further input.
  void HandleRequest(ConnId c, const http::Request& req, std::string_view body);
  // /healthz, /readyz, /metrics; false when the path is none of them.
  bool HandleStatus(ConnId c, const http::Request& req, AnswerForm a);
  void HandleRoom(ConnId c, const http::Request& req, AnswerForm a, std::string_view body);
  void HandlePreflight(ConnId c, AnswerForm a);
  void HandleSend(ConnId c, const http::Request& req, AnswerForm a, std::string_view room,
                  std::string_view body);
  void HandleHistory(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  // GET /rooms/R/snapshot[?limit=N]: checks the request, then the shard's cache answers it.
  void HandleSnapshot(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  // POST /debug/stall?secs=N, only with --debug-stall (testing only): blocks this shard's loop
  // for N seconds, as a shard stuck in a bug would be, so that a test can watch the systemd
  // watchdog pings stop. Without the flag the path is an ordinary 404.
  void HandleDebugStall(ConnId c, const http::Request& req, AnswerForm a);
  // The rest: the JS client and the demo page, or 404.
  void HandleStatic(ConnId c, const http::Request& req, AnswerForm a);
  // Marks a taken request as waiting for the owner's answer.
  void AwaitAnswer(ConnId c, AnswerForm a);

  Context& ctx_;
  WsSession& ws_;
  SseSession& sse_;
  PollSession& poll_;
  AdminSession& admin_;
  Snapshots snapshots_;
};

}  // namespace roomcast::session
