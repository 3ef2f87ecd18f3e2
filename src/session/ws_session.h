// The WebSocket protocol handler. States of a session (SessKind) and what moves it:
//   kHttp --upgrade (101 queued, join asked)--> kWsJoining
//   kWsJoining --join answered, last page--> kWs (welcome, backlog, then the room's batches)
//   kWsJoining --catch-up page--> kWsJoining (next page asked when the queue has room)
//   kWsJoining/kWs --close frame, protocol error, refusal, ping timeout, flood--> closing
// Frames come in through one ws::FrameReader (masking, control-frame rules, --max-frame); a text
// message is checked for UTF-8 and parsed as a client op; a send goes to the room through the
// RoomClient and its ack comes back as a frame. Replies (pongs, acks, errors) may take a queue up
// to twice --max-queue-bytes; past that the client is closed. Shard thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "context.h"
#include "http/http_parser.h"
#include "viewers.h"
#include "ws/ws_frame.h"

namespace roomcast::session {

// The close code of a WebSocket whose token expired (PROTOCOL.md, "Identity").
inline constexpr auto kTokenExpiredClose = static_cast<ws::CloseCode>(4001);

class WsSession {
 public:
  WsSession(Context* ctx, Viewers* viewers)
      : ctx_(*ctx), viewers_(*viewers), reader_(ctx->cfg.max_frame) {}

  // GET /ws: checks the request, queues the 101 answer and asks to join.
  void HandleUpgrade(ConnId c, const http::Request& req, AnswerForm a);
  // Frames from the client; returns the bytes used (an incomplete frame waits).
  size_t Process(ConnId c, std::span<const uint8_t> data);
  // The owner's answers.
  void OnAck(const mesh::AckReply& ack);
  void OnJoinReply(const mesh::JoinReply& rep);
  // The once-a-second check of an idle viewer: a ping, or a close when the pong is overdue.
  void CheckIdle(ConnId c, uint32_t idle_s);
  // The once-a-second check of the viewer's token: once it has expired (Unix seconds unix_s), an
  // error token_expired and close 4001.
  void CheckExpiry(ConnId c, int64_t unix_s);
  // A close frame (code, reason), then a graceful close.
  void Close(ConnId c, ws::CloseCode code, std::string_view reason);
  // One frame: false once the connection is closing (no further frames are read).
  bool HandleFrame(ConnId c, const ws::Frame& f);

 private:
  // A whole text message, inflated first when compressed (permessage-deflate).
  void HandleMessage(ConnId c, std::string_view payload, bool compressed);
  void HandleText(ConnId c, std::string_view text);
  void HandleRefresh(ConnId c, std::string_view token);
  void HandleModerate(ConnId c, const chat::ModOp& op);
  // False (and the connection closed) when a reply would take the queue past twice
  // --max-queue-bytes (batches and pages may take the first half).
  [[nodiscard]] bool ReplyFits(ConnId c, size_t bytes);
  void SendText(ConnId c, std::string_view json);
  // {"type":"error","code","message"} and, for a refusal that passes, "retry_ms"; for a refused
  // send, its "cid"; for a refused op that is not a send (a reaction), its "op".
  void SendError(ConnId c, std::string_view code, std::string_view message, uint64_t retry_ms = 0,
                 std::string_view cid = {}, std::string_view op = {});

  Context& ctx_;
  Viewers& viewers_;
  ws::FrameReader reader_;
};

}  // namespace roomcast::session
