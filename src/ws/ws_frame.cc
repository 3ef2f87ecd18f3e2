#include "ws/ws_frame.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/utf8.h"

namespace roomcast::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kRsv1Bit = 0x40;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLength7Bits = 0x7F;
constexpr uint8_t kLength16Marker = 126;
constexpr uint8_t kLength64Marker = 127;
constexpr size_t kMaskKeyBytes = 4;
constexpr uint64_t kMaxControlPayload = 125;
constexpr size_t kCloseCodeBytes = 2;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "roomcast ws_frame: %s\n", what);
  std::abort();
}

bool IsControl(uint8_t opcode) { return (opcode & 0x8) != 0; }

bool IsKnownOpcode(uint8_t opcode) {
  switch (opcode) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x8:
    case 0x9:
    case 0xA:
      return true;
    default:
      return false;
  }
}

// RFC 6455 7.4 and the IANA registry: the codes a peer may put in a close frame. 1004-1006 and
// 1015 are reserved and never sent on the wire; 1016-2999 are kept for the protocol; 0-999 and
// 5000 and above are not defined.
bool IsSendableCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

// A close body is empty, or a status code a peer may send followed by a UTF-8 reason (RFC 6455
// 5.5.1). Anything else fails the connection instead of being echoed back.
CloseCode CheckCloseBody(std::string_view body) {
  if (body.empty()) return CloseCode::kNone;
  if (body.size() < kCloseCodeBytes) return CloseCode::kProtocolError;
  const auto code =
      static_cast<uint16_t>((static_cast<uint8_t>(body[0]) << 8) | static_cast<uint8_t>(body[1]));
  if (!IsSendableCloseCode(code)) return CloseCode::kProtocolError;
  if (!utf8::IsValid(body.substr(kCloseCodeBytes))) return CloseCode::kInvalidPayload;
  return CloseCode::kNone;
}

uint64_t ReadBigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// What the bytes at the start of a buffer say about the frame that begins there.
struct HeaderScan {
  CloseCode error = CloseCode::kNone;
  size_t header_size = 0;  // 0: the header has not fully arrived (and no error is known yet)
  uint64_t payload_length = 0;
};

// Checks a client frame header with the same rules wslay applies, plus ours (masking, RSV,
// opcode, size limit), so that wslay only ever sees frames it will accept whole. Each check runs
// as soon as the bytes it needs are present: an oversized frame is refused from its length field,
// before its mask key or payload arrive.
HeaderScan ScanHeader(std::span<const uint8_t> bytes, uint64_t max_payload, bool deflate) {
  HeaderScan scan;
  if (bytes.size() < 2) return scan;
  const uint8_t b0 = bytes[0];
  const uint8_t b1 = bytes[1];
  const uint8_t opcode = b0 & kOpcodeBits;
  const uint8_t length7 = b1 & kLength7Bits;
  // RSV1 marks a compressed message: only with permessage-deflate, only on its first frame.
  const bool rsv1_ok = deflate && (opcode == 0x1 || opcode == 0x2);
  const uint8_t rsv_allowed = rsv1_ok ? kRsv1Bit : 0;
  if ((b0 & kRsvBits & ~rsv_allowed) != 0 || !IsKnownOpcode(opcode) || (b1 & kMaskBit) == 0) {
    scan.error = CloseCode::kProtocolError;
    return scan;
  }
  if (IsControl(opcode) && (length7 > kMaxControlPayload || (b0 & kFinBit) == 0)) {
    scan.error = CloseCode::kProtocolError;
    return scan;
  }
  size_t length_bytes = 0;
  if (length7 == kLength16Marker) length_bytes = 2;
  if (length7 == kLength64Marker) length_bytes = 8;
  if (bytes.size() < 2 + length_bytes) return scan;
  uint64_t length = length7;
  if (length_bytes != 0) {
    length = ReadBigEndian(bytes.data() + 2, length_bytes);
    // RFC 6455 5.2: the minimal encoding must be used and the 64-bit form has its MSB clear.
    // wslay refuses these too; refusing here keeps its context from stopping inside a header.
    const bool non_minimal = length_bytes == 2 ? length < kLength16Marker : length < 0x10000;
    if (non_minimal || (length >> 63) != 0) {
      scan.error = CloseCode::kProtocolError;
      return scan;
    }
  }
  if (length > max_payload) {
    scan.error = CloseCode::kMessageTooBig;
    return scan;
  }
  if (bytes.size() < 2 + length_bytes + kMaskKeyBytes) return scan;
  scan.header_size = 2 + length_bytes + kMaskKeyBytes;
  scan.payload_length = length;
  return scan;
}

wslay_frame_context* NewContext(const wslay_frame_callbacks& callbacks, void* user) {
  wslay_frame_context* ctx = nullptr;
  if (wslay_frame_context_init(&ctx, &callbacks, user) != 0) Die("wslay_frame_context_init");
  return ctx;
}

}  // namespace

FrameReader::FrameReader(uint64_t max_payload) : max_payload_(max_payload) {
  const wslay_frame_callbacks callbacks = {nullptr, &FrameReader::RecvCallback, nullptr};
  ctx_ = NewContext(callbacks, this);
}

FrameReader::~FrameReader() { wslay_frame_context_free(ctx_); }

long FrameReader::RecvCallback(uint8_t* buf, size_t len, int /*flags*/, void* user) {
  auto* self = static_cast<FrameReader*>(user);
  if (self->in_len_ == 0) return WSLAY_ERR_WOULDBLOCK;
  const size_t n = std::min(len, self->in_len_);
  std::memcpy(buf, self->in_, n);
  self->in_ += n;
  self->in_len_ -= n;
  return static_cast<long>(n);
}

void FrameReader::ResetContext() {
  wslay_frame_context_free(ctx_);
  const wslay_frame_callbacks callbacks = {nullptr, &FrameReader::RecvCallback, nullptr};
  ctx_ = NewContext(callbacks, this);
}

CloseCode FrameReader::ReadOneFrame(std::span<const uint8_t> bytes, Frame* frame) {
  // wslay's recv callback sees exactly this one frame: wslay cannot read ahead into the next
  // frame (which may be incomplete, or follow a frame the sink refuses) or into another
  // connection's bytes, so between frames its context holds no state and no buffered input.
  in_ = bytes.data();
  in_len_ = bytes.size();
  payload_.clear();
  wslay_frame_iocb iocb{};
  for (bool first = true;; first = false) {
    const ssize_t r = wslay_frame_recv(ctx_, &iocb);
    if (r < 0) {
      // Only possible if wslay disagrees with ScanHeader. Its context may now be stuck inside a
      // header, so replace it rather than let the next connection's bytes be misread.
      ResetContext();
      in_ = nullptr;
      in_len_ = 0;
      return r == WSLAY_ERR_PROTO ? CloseCode::kProtocolError : CloseCode::kInternalError;
    }
    if (first && iocb.data_length == iocb.payload_length) {
      // Common case: the whole payload came in one chunk of wslay's buffer, which stays valid
      // until the next wslay_frame_recv, i.e. past OnFrame. No copy into payload_ needed.
      frame->payload = std::string_view(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
      break;
    }
    payload_.append(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
    if (payload_.size() == iocb.payload_length) {
      frame->payload = payload_;
      break;
    }
  }
  if (in_len_ != 0) Die("wslay left part of a whole frame unread");
  in_ = nullptr;
  frame->opcode = static_cast<Opcode>(iocb.opcode);
  frame->fin = iocb.fin != 0;
  frame->compressed = (iocb.rsv & 0x4) != 0;  // wslay: rsv = RSV1 << 2 | RSV2 << 1 | RSV3
  return CloseCode::kNone;
}

ParseResult FrameReader::Parse(std::span<const uint8_t> buf, FrameSink& sink, bool deflate) {
  ParseResult result;
  while (result.consumed < buf.size()) {
    const std::span<const uint8_t> rest = buf.subspan(result.consumed);
    const HeaderScan scan = ScanHeader(rest, max_payload_, deflate);
    if (scan.error != CloseCode::kNone) {
      result.error = scan.error;
      break;
    }
    if (scan.header_size == 0 || scan.payload_length > rest.size() - scan.header_size) break;
    const size_t frame_size = scan.header_size + static_cast<size_t>(scan.payload_length);
    Frame frame{};
    result.error = ReadOneFrame(rest.first(frame_size), &frame);
    if (result.error == CloseCode::kNone && frame.opcode == Opcode::kClose) {
      result.error = CheckCloseBody(frame.payload);
    }
    if (result.error != CloseCode::kNone) break;
    result.consumed += frame_size;
    if (!sink.OnFrame(frame)) break;
  }
  return result;
}

FrameWriter::FrameWriter() {
  // Server frames are never masked, so wslay never asks for a mask key.
  const wslay_frame_callbacks callbacks = {&FrameWriter::SendCallback, nullptr, nullptr};
  ctx_ = NewContext(callbacks, this);
}

FrameWriter::~FrameWriter() { wslay_frame_context_free(ctx_); }

long FrameWriter::SendCallback(const uint8_t* data, size_t len, int /*flags*/, void* user) {
  auto* self = static_cast<FrameWriter*>(user);
  self->out_->append(reinterpret_cast<const char*>(data), len);
  return static_cast<long>(len);
}

void FrameWriter::Append(std::string* out, Opcode opcode, std::string_view payload) {
  AppendFrame(out, opcode, payload, WSLAY_RSV_NONE);
}

void FrameWriter::AppendCompressed(std::string* out, Opcode opcode, std::string_view payload) {
  AppendFrame(out, opcode, payload, WSLAY_RSV1_BIT);
}

void FrameWriter::AppendFrame(std::string* out, Opcode opcode, std::string_view payload,
                              uint8_t rsv) {
  const auto op = static_cast<uint8_t>(opcode);
  if (IsControl(op) && payload.size() > kMaxControlPayload) {
    Die("control frame payload longer than 125 bytes");
  }
  out->reserve(out->size() + ServerHeaderSize(payload.size()) + payload.size());
  out_ = out;
  wslay_frame_iocb iocb{};
  iocb.fin = 1;
  iocb.rsv = rsv;
  iocb.opcode = op;
  iocb.mask = 0;
  iocb.payload_length = payload.size();
  iocb.data = reinterpret_cast<const uint8_t*>(payload.data());
  iocb.data_length = payload.size();
  // SendCallback takes everything, so one call normally sends the whole frame; the loop follows
  // wslay's contract that a call may send only part of the payload.
  do {
    const ssize_t r = wslay_frame_send(ctx_, &iocb);
    if (r < 0) Die("wslay_frame_send refused a server frame");
    iocb.data += r;
    iocb.data_length -= static_cast<size_t>(r);
  } while (iocb.data_length > 0);
  out_ = nullptr;
}

void FrameWriter::AppendClose(std::string* out, CloseCode code, std::string_view reason) {
  if (code == CloseCode::kNone) {
    // RFC 6455 allows a close frame without a body; a reason requires a code.
    Append(out, Opcode::kClose, {});
    return;
  }
  std::array<char, kMaxControlPayload> body;
  const auto value = static_cast<uint16_t>(code);
  body[0] = static_cast<char>(value >> 8);
  body[1] = static_cast<char>(value & 0xFF);
  size_t n = std::min(reason.size(), body.size() - kCloseCodeBytes);
  if (n < reason.size()) {
    // Do not end inside a UTF-8 sequence: the client must be able to decode the reason.
    while (n > 0 && (static_cast<uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
  }
  if (n > 0) std::memcpy(body.data() + kCloseCodeBytes, reason.data(), n);
  Append(out, Opcode::kClose, std::string_view(body.data(), kCloseCodeBytes + n));
}

size_t ServerHeaderSize(uint64_t payload_length) {
  if (payload_length < kLength16Marker) return 2;
  if (payload_length < 0x10000) return 4;
  return 10;
}

}  // namespace roomcast::ws
