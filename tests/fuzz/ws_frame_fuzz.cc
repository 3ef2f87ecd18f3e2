// FrameReader over arbitrary client bytes, and over frames we mask ourselves.
//  - Whatever the bytes: consumed <= input, every frame delivered obeys RFC 6455 (known opcode,
//    control frames final and at most 125 bytes, payload within the limit), and bytes arriving in
//    two pieces (the tail kept, as the server does) give the same frames and the same error as
//    bytes arriving at once.
//  - A frame built from the input (opcode, mask key, payload) reads back as exactly that payload,
//    or, for a close, is refused exactly when its body is not one a peer may send.
#include <cstring>
#include <string>
#include <vector>

#include "base/utf8.h"
#include "fuzz_check.h"
#include "ws/ws_frame.h"

using roomcast::fuzz::ByteTaker;
using roomcast::ws::CloseCode;
using roomcast::ws::Frame;
using roomcast::ws::FrameReader;
using roomcast::ws::Opcode;
using roomcast::ws::ParseResult;

namespace {

constexpr uint64_t kMaxPayload = 4096;

struct Seen {
  uint8_t opcode;
  bool fin;
  std::string payload;
  bool operator==(const Seen&) const = default;
};

class Collect : public roomcast::ws::FrameSink {
 public:
  explicit Collect(size_t stop_after) : stop_after_(stop_after) {}
  bool OnFrame(const Frame& f) override {
    const auto op = static_cast<uint8_t>(f.opcode);
    FUZZ_CHECK(op <= 0x2 || (op >= 0x8 && op <= 0xA));
    if (op >= 0x8) FUZZ_CHECK(f.fin && f.payload.size() <= 125);
    if (op == 0x8) FUZZ_CHECK(f.payload.size() != 1);  // a close body is empty or has a code
    FUZZ_CHECK(f.payload.size() <= kMaxPayload);
    frames.push_back(Seen{op, f.fin, std::string(f.payload)});
    return frames.size() < stop_after_;
  }
  std::vector<Seen> frames;

 private:
  size_t stop_after_;
};

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A masked client frame, header in the shortest form.
std::string ClientFrame(uint8_t b0, std::string_view payload, const uint8_t mask[4]) {
  std::string f;
  f.push_back(static_cast<char>(b0));
  const size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 0x10000) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((uint64_t{n} >> (8 * i)) & 0xFF));
  }
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

// What a close body must be (RFC 6455 5.5.1, 7.4), written out plainly: empty, or a code a peer
// may send (1000-1003, 1007-1014, 3000-4999) and a UTF-8 reason.
CloseCode ReferenceCloseBody(std::string_view body) {
  if (body.empty()) return CloseCode::kNone;
  if (body.size() == 1) return CloseCode::kProtocolError;
  const int code = (static_cast<uint8_t>(body[0]) << 8) | static_cast<uint8_t>(body[1]);
  const bool sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                        (code >= 3000 && code <= 4999);
  if (!sendable) return CloseCode::kProtocolError;
  return roomcast::utf8::IsValid(body.substr(2)) ? CloseCode::kNone : CloseCode::kInvalidPayload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One reader for the whole run, as one shard serves every connection: state left behind by one
  // input (a refused frame) must not change how the next is read.
  static FrameReader reader(kMaxPayload);
  ByteTaker take(data, size);
  const size_t split_seed = take.U16();
  const size_t stop_after = 1 + take.Byte() % 8;
  const std::string_view buf = take.Rest();

  // All at once.
  Collect whole(stop_after);
  const ParseResult r = reader.Parse(Bytes(buf), whole);
  FUZZ_CHECK(r.consumed <= buf.size());
  const bool stopped = whole.frames.size() == stop_after;
  if (r.error == CloseCode::kNone && !stopped) {
    // Stopped only for want of bytes: what is left is a strict prefix of one frame, so reading it
    // again (as the server does when more bytes arrive) yields nothing yet and no error.
    Collect tail(stop_after);
    const ParseResult rt = reader.Parse(Bytes(buf.substr(r.consumed)), tail);
    FUZZ_CHECK(rt.consumed == 0 && rt.error == CloseCode::kNone && tail.frames.empty());
  }

  // In two pieces: the first piece, then what it left unconsumed plus the rest.
  if (!buf.empty()) {
    const size_t k = split_seed % (buf.size() + 1);
    Collect pieces(stop_after);
    const ParseResult r1 = reader.Parse(Bytes(buf.substr(0, k)), pieces);
    FUZZ_CHECK(r1.consumed <= k);
    ParseResult r2;
    if (r1.error == CloseCode::kNone && pieces.frames.size() < stop_after) {
      r2 = reader.Parse(Bytes(buf.substr(r1.consumed)), pieces);
    }
    FUZZ_CHECK(pieces.frames == whole.frames);
    FUZZ_CHECK((r1.error != CloseCode::kNone ? r1.error : r2.error) == r.error);
    if (pieces.frames.size() < stop_after && r1.error == CloseCode::kNone) {
      FUZZ_CHECK(r1.consumed + r2.consumed == r.consumed);
    }
  }

  // A frame of our own making reads back exactly.
  const uint8_t kinds[] = {0x1, 0x2, 0x0, 0x9, 0xA, 0x8};
  const uint8_t shape = split_seed & 0xFF;
  const uint8_t opcode = kinds[shape % 6];
  const bool fin = opcode >= 0x8 || (shape & 0x80) != 0;
  const uint8_t mask[4] = {static_cast<uint8_t>(split_seed), static_cast<uint8_t>(stop_after), 0xA5,
                           static_cast<uint8_t>(size)};
  std::string_view payload =
      buf.substr(0, opcode >= 0x8 ? std::min<size_t>(buf.size(), 125) : buf.size());
  const std::string frame =
      ClientFrame(static_cast<uint8_t>((fin ? 0x80 : 0) | opcode), payload, mask);
  Collect own(1);
  const ParseResult ro = reader.Parse(Bytes(frame), own);
  const CloseCode want = payload.size() > kMaxPayload ? CloseCode::kMessageTooBig
                         : opcode == 0x8              ? ReferenceCloseBody(payload)
                                                      : CloseCode::kNone;
  FUZZ_CHECK(ro.error == want);
  if (want == CloseCode::kNone) {
    FUZZ_CHECK(ro.consumed == frame.size());
    FUZZ_CHECK(own.frames.size() == 1);
    FUZZ_CHECK(own.frames[0] == (Seen{opcode, fin, std::string(payload)}));
  } else {
    FUZZ_CHECK(ro.consumed == 0 && own.frames.empty());
  }
  return 0;
}
