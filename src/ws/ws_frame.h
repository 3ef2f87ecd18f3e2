// WebSocket framing (RFC 6455) on top of wslay's frame API.
//
// FrameReader turns received bytes into whole client frames; FrameWriter appends server frames to
// a buffer. Both are per shard (each owns one wslay frame context) and must be used only by the
// shard thread that made them. Neither keeps per-connection state: the reader consumes only whole
// frames and tells the caller how many bytes those were, so the caller keeps the incomplete tail
// (and only then needs memory for that connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct wslay_frame_context;

namespace roomcast::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

enum class CloseCode : uint16_t {
  kNone = 0,
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kInvalidPayload = 1007,  // e.g. text that is not UTF-8
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kInternalError = 1011,
};

struct Frame {
  Opcode opcode;
  bool fin;
  bool compressed = false;   // RSV1: the first frame of a permessage-deflate message
  std::string_view payload;  // unmasked; valid only during the OnFrame call
};

class FrameSink {
 public:
  // Called once per complete frame, in order. Return false to stop parsing (e.g. after a close).
  virtual bool OnFrame(const Frame& frame) = 0;

 protected:
  ~FrameSink() = default;
};

struct ParseResult {
  size_t consumed = 0;  // bytes of whole frames handled; keep buf[consumed..] for later
  CloseCode error = CloseCode::kNone;  // != kNone: close the connection with this code
};

class FrameReader {
 public:
  // max_payload: the largest frame payload accepted; a larger one is kMessageTooBig as soon as its
  // header is seen (the payload is never buffered).
  explicit FrameReader(uint64_t max_payload);
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Parses whole client frames at the start of buf and hands each to sink. Protocol errors
  // (kProtocolError): unmasked frame, RSV bits set, unknown opcode, control frame longer than 125
  // bytes or fragmented, a close body of one byte or with a code no peer may send (RFC 6455 7.4).
  // A close reason that is not UTF-8: kInvalidPayload. Oversized payload: kMessageTooBig. Frames
  // before an error are delivered; a close frame reaches the sink only with a valid body.
  // deflate: the connection negotiated permessage-deflate, so RSV1 is allowed on the first frame
  // of a text or binary message (Frame::compressed); never on a continuation or control frame
  // (RFC 7692 6.1), and RSV2/RSV3 never.
  [[nodiscard]] ParseResult Parse(std::span<const uint8_t> buf, FrameSink& sink,
                                  bool deflate = false);

 private:
  uint64_t max_payload_;
  wslay_frame_context* ctx_ = nullptr;
  const uint8_t* in_ = nullptr;  // input window for wslay's recv callback
  size_t in_len_ = 0;
  std::string payload_;  // reassembly of one frame's payload chunks (reused)
  static long RecvCallback(uint8_t* buf, size_t len, int flags, void* user);
  // Runs exactly the bytes of one whole, pre-checked frame through wslay; kNone on success.
  CloseCode ReadOneFrame(std::span<const uint8_t> bytes, Frame* frame);
  // Replaces the wslay context after it reported an error (its state is then undefined).
  void ResetContext();
};

class FrameWriter {
 public:
  FrameWriter();
  ~FrameWriter();
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  // Appends one unmasked, final server frame to *out.
  void Append(std::string* out, Opcode opcode, std::string_view payload);
  // The same with RSV1 set: payload is a permessage-deflate compressed message (ws/deflate.h).
  void AppendCompressed(std::string* out, Opcode opcode, std::string_view payload);
  // Appends a close frame carrying code and a reason (truncated to fit 125 bytes).
  void AppendClose(std::string* out, CloseCode code, std::string_view reason);

 private:
  wslay_frame_context* ctx_ = nullptr;
  std::string* out_ = nullptr;
  static long SendCallback(const uint8_t* data, size_t len, int flags, void* user);
  void AppendFrame(std::string* out, Opcode opcode, std::string_view payload, uint8_t rsv);
};

// Bytes of the header of an unmasked server frame with this payload length (2, 4 or 10).
[[nodiscard]] size_t ServerHeaderSize(uint64_t payload_length);

}  // namespace roomcast::ws
