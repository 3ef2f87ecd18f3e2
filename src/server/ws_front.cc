// The WebSocket side of a connection: frames in (through the shard's one wslay-based reader),
// control frames, fragmented messages, client ops, and small per-connection replies out.
// Shard thread only.
#include "base/json_writer.h"
#include "base/log.h"
#include "base/utf8.h"
#include "shard.h"

namespace roomcast::server {

class WsFrameSink final : public ws::FrameSink {
 public:
  WsFrameSink(Shard* shard, ConnId c) : shard_(shard), c_(c) {}
  bool OnFrame(const ws::Frame& f) override { return shard_->HandleFrame(c_, f); }

 private:
  Shard* shard_;
  ConnId c_;
};

size_t Shard::ProcessWs(ConnId c, std::span<const uint8_t> data) {
  WsFrameSink sink(this, c);
  ws::ParseResult r = frame_reader_.Parse(data, sink);
  if (r.error != ws::CloseCode::kNone) {
    const char* why =
        r.error == ws::CloseCode::kMessageTooBig ? "frame too large" : "protocol error";
    CloseWs(c, r.error, why);
    return data.size();
  }
  return r.consumed;
}

bool Shard::ReplyFits(ConnId c, size_t bytes) {
  // Room batches and catch-up pages may fill about --max-queue-bytes on their own (and are
  // dropped first when a viewer skips ahead): replies get as much again on top of them.
  const uint64_t bound = 2ull * cfg_.max_queue_bytes;
  if (loop_.QueuedBytes(c) + bytes <= bound) return true;
  // Replies (pongs, acks, errors) are never dropped, so a client that keeps asking without
  // reading would grow its queue without bound (a ping flood): it is closed instead, as the
  // fan-out closes a viewer whose replies alone pass the bound.
  ShardMetrics::Add(metrics_.slow_closes_total, 1);
  Sess(c).flags |= kClosingSess;
  loop_.Close(c, io::CloseMode::kAbort);
  return false;
}

void Shard::SendWsText(ConnId c, std::string_view json) {
  std::string frame;
  frame.reserve(json.size() + 4);
  frame_writer_.Append(&frame, ws::Opcode::kText, json);
  if (!ReplyFits(c, frame.size())) return;
  loop_.EnqueueCopy(c, std::move(frame));
}

void Shard::SendWsError(ConnId c, std::string_view code, std::string_view message) {
  metrics_.CountError(code);
  NoteRefusal(c, 0, code, message);
  std::string j = R"({"type":"error","code":)";
  json::AppendString(&j, code);
  j += R"(,"message":)";
  json::AppendString(&j, message);
  j += '}';
  SendWsText(c, j);
}

void Shard::CloseWs(ConnId c, ws::CloseCode code, std::string_view reason) {
  Session& s = Sess(c);
  if (s.flags & kClosingSess) return;
  s.flags |= kClosingSess;
  std::string frame;
  frame_writer_.AppendClose(&frame, code, reason);
  loop_.EnqueueCopy(c, std::move(frame));
  loop_.Close(c, io::CloseMode::kGraceful);
}

bool Shard::HandleFrame(ConnId c, const ws::Frame& f) {
  Session& s = Sess(c);
  if (s.flags & kClosingSess) return false;
  switch (f.opcode) {
    case ws::Opcode::kPing: {
      std::string frame;
      frame_writer_.Append(&frame, ws::Opcode::kPong, f.payload);
      if (!ReplyFits(c, frame.size())) return false;
      loop_.EnqueueCopy(c, std::move(frame));
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
      CloseWs(c, code, "");
      return false;
    }
    case ws::Opcode::kBinary:
      CloseWs(c, ws::CloseCode::kUnsupportedData, "binary messages are not supported");
      return false;
    case ws::Opcode::kText:
      if (s.pending && s.pending->assembling) {
        CloseWs(c, ws::CloseCode::kProtocolError, "new message inside a fragmented one");
        return false;
      }
      if (f.fin) {
        HandleWsText(c, f.payload);
        return !(Sess(c).flags & kClosingSess);
      }
      session::SessionTable::Pending(s).assembling = true;
      s.pending->fragments.assign(f.payload);
      return true;
    case ws::Opcode::kContinuation: {
      if (!s.pending || !s.pending->assembling) {
        CloseWs(c, ws::CloseCode::kProtocolError, "continuation without a message");
        return false;
      }
      if (s.pending->fragments.size() + f.payload.size() > cfg_.max_frame) {
        CloseWs(c, ws::CloseCode::kMessageTooBig, "message too large");
        return false;
      }
      s.pending->fragments.append(f.payload);
      if (!f.fin) return true;
      std::string whole = std::move(s.pending->fragments);
      s.pending->fragments.clear();
      s.pending->assembling = false;
      HandleWsText(c, whole);
      return !(Sess(c).flags & kClosingSess);
    }
  }
  return true;
}

void Shard::HandleWsText(ConnId c, std::string_view text) {
  if (!utf8::IsValid(text)) {
    CloseWs(c, ws::CloseCode::kInvalidPayload, "text is not valid UTF-8");
    return;
  }
  chat::ClientOp op;
  chat::OpError err = op_parser_.ParseWsOp(text, text_limits_, &op);
  if (!err.code.empty()) {
    SendWsError(c, err.code, err.message);
    return;
  }
  switch (op.kind) {
    case chat::OpKind::kPing:
      SendWsText(c, R"({"type":"pong"})");
      return;
    case chat::OpKind::kSend: {
      Session& s = Sess(c);
      if (s.replica == room::kNoReplica) {
        SendWsError(c, "bad_request", "not in a room");
        return;
      }
      Publish(c, false, replicas_.At(s.replica).name, op);
      return;
    }
    case chat::OpKind::kReact:
    case chat::OpKind::kDelete:
    case chat::OpKind::kBan:
    case chat::OpKind::kMode:
      SendWsError(c, "not_supported", "op '" + op.op_name + "' is not available in this version");
      return;
    case chat::OpKind::kUnknown:
      SendWsError(c, "bad_request", "unknown op '" + op.op_name + "'");
      return;
  }
}

}  // namespace roomcast::server
