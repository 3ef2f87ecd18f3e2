// The WebSocket protocol handler (ws_session.h). Shard thread only.
#include "ws_session.h"

#include <algorithm>

#include "ack_json.h"
#include "base/json_writer.h"
#include "base/utf8.h"
#include "chat/emote.h"
#include "ws/ws_handshake.h"

namespace roomcast::session {

namespace {

class FrameSink final : public ws::FrameSink {
 public:
  FrameSink(WsSession* ws, ConnId c) : ws_(ws), c_(c) {}
  bool OnFrame(const ws::Frame& f) override { return ws_->HandleFrame(c_, f); }

 private:
  WsSession* ws_;
  ConnId c_;
};

// The upgrade's parameters: ?room= ?history= ?since= ?epoch= (?token= and ?user=: Authenticate).
struct UpgradeParams {
  std::string room, epoch;
  uint64_t history = 0;
  uint64_t since = kNoSince;
};

// Empty when the parameters are valid, else what is wrong with them.
std::string_view ParseUpgradeParams(const http::Request& req, UpgradeParams* p) {
  if (!http::QueryParam(req.query, "room", &p->room) || !chat::IsValidRoomId(p->room)) {
    return kRoomRule;
  }
  std::string value;
  if (http::QueryParam(req.query, "history", &value) && !http::ParseDecimal(value, &p->history)) {
    return "history must be a whole number";
  }
  if (http::QueryParam(req.query, "since", &value) && !http::ParseDecimal(value, &p->since)) {
    return "since must be a whole number";
  }
  if (!ParseEpochParam(req, &p->epoch)) return kEpochRule;
  return {};
}

}  // namespace

void WsSession::HandleUpgrade(ConnId c, const http::Request& req, AnswerForm a) {
  UpgradeParams p;
  if (const std::string_view wrong = ParseUpgradeParams(req, &p); !wrong.empty()) {
    return ctx_.RespondError(c, a.Closing(), 400, "bad_request", wrong);
  }
  if (ctx_.OriginRefused(req, a)) {  // a browser page of another origin (WebSocket has no CORS)
    return ctx_.RespondError(c, a.Closing(), 403, "forbidden",
                             "origin not allowed (see --cors-origins)");
  }
  if (!req.HeaderHasToken("Upgrade", "websocket") || !req.HeaderHasToken("Connection", "upgrade")) {
    return ctx_.RespondError(c, a.Closing(), 400, "bad_request",
                             "expected a WebSocket upgrade request");
  }
  if (req.Find("Sec-WebSocket-Version") != "13") {
    return ctx_.RespondHttp(
        c,
        http::BuildResponse(426, "application/json",
                            R"({"error":"bad_request","message":"WebSocket version 13 required"})",
                            false, "Sec-WebSocket-Version: 13\r\n"),
        false);
  }
  std::string_view key = req.Find("Sec-WebSocket-Key");
  if (!ws::IsValidClientKey(key)) {
    return ctx_.RespondError(c, a.Closing(), 400, "bad_request",
                             "missing or malformed Sec-WebSocket-Key");
  }
  if (ctx_.draining)
    return ctx_.RespondError(c, a.Closing(), 503, "draining", "server is draining");
  if (ctx_.Authenticate(c, req, a) == Auth::kRefused) return;  // 401 before any upgrade
  const std::string extension = ctx_.deflate.Negotiate(req);   // never fails the upgrade
  ctx_.out.EnqueueCopy(c, ws::UpgradeResponse(key, extension));
  ctx_.CountAnswer(c, 101);
  Session& s = ctx_.Sess(c);
  if (!extension.empty()) s.flags |= kDeflateSess;
  s.kind = SessKind::kWsJoining;
  const uint32_t h =
      static_cast<uint32_t>(std::min<uint64_t>(p.history, ctx_.cfg.max_history_request));
  viewers_.StartJoin(c, p.room, h, mesh::JoinMode::kWs, p.since, p.epoch);
}

size_t WsSession::Process(ConnId c, std::span<const uint8_t> data) {
  FrameSink sink(this, c);
  const bool deflate = (ctx_.Sess(c).flags & kDeflateSess) != 0;
  ws::ParseResult r = reader_.Parse(data, sink, deflate);
  if (r.error != ws::CloseCode::kNone) {
    const char* why =
        r.error == ws::CloseCode::kMessageTooBig ? "frame too large" : "protocol error";
    Close(c, r.error, why);
    return data.size();
  }
  return r.consumed;
}

bool WsSession::ReplyFits(ConnId c, size_t bytes) {
  // Room batches and catch-up pages may fill about --max-queue-bytes on their own (and are
  // dropped first when a viewer skips ahead): replies get as much again on top of them.
  const uint64_t bound = 2ull * ctx_.cfg.max_queue_bytes;
  if (ctx_.out.QueuedBytes(c) + bytes <= bound) return true;
  // Replies (pongs, acks, errors) are never dropped, so a client that keeps asking without
  // reading would grow its queue without bound (a ping flood): it is closed instead, as the
  // fan-out closes a viewer whose replies alone pass the bound.
  ShardMetrics::Add(ctx_.metrics.slow_closes_total, 1);
  ctx_.CloseConn(c, CloseMode::kAbort);
  return false;
}

void WsSession::SendText(ConnId c, std::string_view json) {
  std::string frame;
  frame.reserve(json.size() + 4);
  ctx_.writer.Append(&frame, ws::Opcode::kText, json);
  if (!ReplyFits(c, frame.size())) return;
  ctx_.out.EnqueueCopy(c, std::move(frame));
}

void WsSession::SendError(ConnId c, std::string_view code, std::string_view message,
                          uint64_t retry_ms, std::string_view cid, std::string_view op) {
  ctx_.metrics.CountError(code);
  ctx_.NoteRefusal(c, 0, code, message);
  std::string j = R"({"type":"error","code":)";
  json::AppendString(&j, code);
  j += R"(,"message":)";
  json::AppendString(&j, message);
  if (retry_ms) {
    j += R"(,"retry_ms":)";
    json::AppendUint(&j, retry_ms);
  }
  if (!cid.empty()) {
    j += R"(,"cid":)";
    json::AppendString(&j, cid);
  }
  if (!op.empty()) {
    j += R"(,"op":)";
    json::AppendString(&j, op);
  }
  j += '}';
  SendText(c, j);
}

void WsSession::Close(ConnId c, ws::CloseCode code, std::string_view reason) {
  Session& s = ctx_.Sess(c);
  if (s.flags & kClosingSess) return;
  s.flags |= kClosingSess;
  std::string frame;
  ctx_.writer.AppendClose(&frame, code, reason);
  ctx_.out.EnqueueCopy(c, std::move(frame));
  ctx_.out.Close(c, CloseMode::kGraceful);
}

bool WsSession::HandleFrame(ConnId c, const ws::Frame& f) {
  Session& s = ctx_.Sess(c);
  if (s.flags & kClosingSess) return false;
  switch (f.opcode) {
    case ws::Opcode::kPing: {
      std::string frame;
      ctx_.writer.Append(&frame, ws::Opcode::kPong, f.payload);
      if (!ReplyFits(c, frame.size())) return false;
      ctx_.out.EnqueueCopy(c, std::move(frame));
      return true;
    }
    case ws::Opcode::kPong:
      return true;  // activity was already recorded
    case ws::Opcode::kClose: {
      // Echo the peer's code (or 1000) and close once it is sent.
      ws::CloseCode code = ws::CloseCode::kNormal;
      if (f.payload.size() >= 2) {
        code = static_cast<ws::CloseCode>((static_cast<uint8_t>(f.payload[0]) << 8) |
                                          static_cast<uint8_t>(f.payload[1]));
      }
      Close(c, code, "");
      return false;
    }
    case ws::Opcode::kBinary:
      Close(c, ws::CloseCode::kUnsupportedData, "binary messages are not supported");
      return false;
    case ws::Opcode::kText:
      if (s.pending && s.pending->assembling) {
        Close(c, ws::CloseCode::kProtocolError, "new message inside a fragmented one");
        return false;
      }
      if (f.fin) {
        HandleMessage(c, f.payload, f.compressed);
        return !(ctx_.Sess(c).flags & kClosingSess);
      }
      SessionTable::Pending(s).assembling = true;
      s.pending->compressed = f.compressed;
      s.pending->fragments.assign(f.payload);
      return true;
    case ws::Opcode::kContinuation: {
      if (!s.pending || !s.pending->assembling) {
        Close(c, ws::CloseCode::kProtocolError, "continuation without a message");
        return false;
      }
      if (s.pending->fragments.size() + f.payload.size() > ctx_.cfg.max_frame) {
        Close(c, ws::CloseCode::kMessageTooBig, "message too large");
        return false;
      }
      s.pending->fragments.append(f.payload);
      if (!f.fin) return true;
      std::string whole = std::move(s.pending->fragments);
      s.pending->fragments.clear();
      s.pending->assembling = false;
      HandleMessage(c, whole, s.pending->compressed);
      return !(ctx_.Sess(c).flags & kClosingSess);
    }
  }
  return true;
}

void WsSession::HandleMessage(ConnId c, std::string_view payload, bool compressed) {
  if (!compressed) return HandleText(c, payload);
  // RFC 7692: inflated by the shard's one inflater, bounded by --max-frame like a plain message.
  std::string text;
  switch (ctx_.deflate.Inflate(payload, &text)) {
    case ws::InflateStatus::kOk:
      return HandleText(c, text);
    case ws::InflateStatus::kTooBig:
      return Close(c, ws::CloseCode::kMessageTooBig, "message too large once inflated");
    case ws::InflateStatus::kBad:
      return Close(c, ws::CloseCode::kInvalidPayload, "corrupt compressed message");
  }
}

void WsSession::HandleText(ConnId c, std::string_view text) {
  if (!utf8::IsValid(text)) {
    Close(c, ws::CloseCode::kInvalidPayload, "text is not valid UTF-8");
    return;
  }
  chat::ClientOp op;
  chat::OpError err = ctx_.op_parser.ParseWsOp(text, ctx_.text_limits, &op);
  if (!err.code.empty()) {
    SendError(c, err.code, err.message, 0, {},
              op.op_name == "react" ? std::string_view("react") : std::string_view());
    return;
  }
  switch (op.kind) {
    case chat::OpKind::kPing:
      SendText(c, R"({"type":"pong"})");
      return;
    case chat::OpKind::kSend: {
      Session& s = ctx_.Sess(c);
      if (s.replica == room::kNoReplica) {
        SendError(c, "bad_request", "not in a room");
        return;
      }
      if (!ctx_.MaySend(c)) {
        SendError(c, "forbidden", "anonymous viewers may not send: connect with a token");
        return;
      }
      ctx_.Publish(c, false, viewers_.Replicas().At(s.replica).name, op);
      return;
    }
    case chat::OpKind::kRefresh:
      return HandleRefresh(c, op.token);
    case chat::OpKind::kModerate:
      return HandleModerate(c, op.mod);
    case chat::OpKind::kReact: {
      const Session& s = ctx_.Sess(c);
      if (s.replica == room::kNoReplica) {
        SendError(c, "bad_request", "not in a room");
        return;
      }
      if (!chat::IsEmote(op.emoji)) {
        SendError(c, "bad_request", "\"emoji\" must be one emoji or a :shortcode:", 0, {}, "react");
        return;
      }
      ctx_.React(c, viewers_.Replicas().At(s.replica).name, op.emoji);
      return;
    }
    case chat::OpKind::kUnknown:
      SendError(c, "bad_request", "unknown op '" + op.op_name + "'");
      return;
  }
}

void WsSession::HandleModerate(ConnId c, const chat::ModOp& op) {
  Session& s = ctx_.Sess(c);
  if (s.replica == room::kNoReplica) {
    SendError(c, "bad_request", "not in a room");
    return;
  }
  const std::string& room = viewers_.Replicas().At(s.replica).name;
  // The owner decides; this only spares it the asks that cannot pass.
  const UserProfile* p = ctx_.table.Profile(c);
  if (p == nullptr || !auth::CanModerate(p->id.RolesIn(room))) {
    SendError(c, "forbidden",
              "op '" + std::string(chat::Name(op.action)) +
                  "' needs the moderator, broadcaster or admin role in this room");
    return;
  }
  ctx_.Moderate(c, false, room, op, /*by_admin_key=*/false);
}

void WsSession::HandleRefresh(ConnId c, std::string_view token) {
  std::string detail;
  const auth::TokenError e = ctx_.Refresh(c, token, &detail);
  if (e != auth::TokenError::kNone) {
    SendError(c, "unauthorized", std::string(auth::Describe(e)) + ": " + detail);
    return;
  }
  std::string j = R"({"type":"ack","op":"refresh","exp":)";
  json::AppendInt(&j, ctx_.table.Profile(c)->id.exp);
  j += '}';
  SendText(c, j);
}

void WsSession::CheckExpiry(ConnId c, int64_t unix_s) {
  const UserProfile* p = ctx_.table.Profile(c);
  if (p == nullptr || p->id.exp == 0 || unix_s < p->id.exp) return;
  SendError(c, "token_expired", "the token expired: reconnect with a new one");
  Close(c, kTokenExpiredClose, "token expired");
}

void WsSession::OnAck(const mesh::AckReply& ack) {
  if (ack.refusal != chat::Refusal::kNone) {
    const chat::RefusalInfo& e = chat::Describe(ack.refusal);
    // A reaction's refusal names its op: a client must not take it for its oldest send's.
    SendError(ack.to.conn, e.code, e.text, ack.retry_ms, ack.cid,
              ack.op == "react" ? std::string_view("react") : std::string_view());
    return;
  }
  if (!ack.op.empty()) {  // a moderation act's
    std::string j = R"({"type":"ack","op":)";
    json::AppendString(&j, ack.op);
    if (ack.seq) {
      j += R"(,"seq":)";
      json::AppendUint(&j, ack.seq);
    }
    j += '}';
    SendText(ack.to.conn, j);
    return;
  }
  std::string j = R"({"type":"ack","cid":)";
  json::AppendString(&j, ack.cid);
  j += ',';
  AppendAckFields(&j, ack);
  j += '}';
  SendText(ack.to.conn, j);
}

void WsSession::OnJoinReply(const mesh::JoinReply& rep) {
  if (rep.refusal != chat::Refusal::kNone) {
    viewers_.EndCatchUp(rep.to.conn);
    SendError(rep.to.conn, "unavailable", chat::Describe(rep.refusal).text);
    Close(rep.to.conn, ws::CloseCode::kInternalError, "room unavailable");
    return;
  }
  // The welcome comes first, once: with the first answer, page or not.
  std::string frames;
  if (!viewers_.CatchingUp(rep.to.conn)) {
    ctx_.writer.Append(&frames, ws::Opcode::kText, viewers_.WelcomeJson(rep));
  }
  viewers_.AddStreamViewer(rep, room::Framing::kWebSocket, std::move(frames));
}

void WsSession::CheckIdle(ConnId c, uint32_t idle_s) {
  Session& s = ctx_.Sess(c);
  if (!(s.flags & kPinged) && idle_s > ctx_.cfg.ping_secs) {
    std::string frame;
    ctx_.writer.Append(&frame, ws::Opcode::kPing, "rc");
    ctx_.out.EnqueueCopy(c, std::move(frame));
    s.flags |= kPinged;
  } else if ((s.flags & kPinged) && idle_s > ctx_.cfg.ping_secs + ctx_.cfg.pong_timeout_secs) {
    Close(c, ws::CloseCode::kGoingAway, "ping timeout");
  }
}

}  // namespace roomcast::session
