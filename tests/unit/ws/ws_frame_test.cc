#include "ws/ws_frame.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace roomcast::ws {
namespace {

constexpr std::array<uint8_t, 4> kMaskKey = {0x37, 0xFA, 0x21, 0x3D};  // RFC 6455 5.7
constexpr uint64_t kMaxPayload = 1 << 20;

// The header of a client frame: first byte as given, MASK bit as asked, the length in the given
// form (1, 2 or 8 bytes; 0 picks the minimal one), then the mask key when masked.
std::string ClientHeader(uint8_t b0, uint64_t length, bool masked = true, int length_form = 0) {
  if (length_form == 0) length_form = length < 126 ? 1 : length < 65536 ? 2 : 8;
  std::string h(1, static_cast<char>(b0));
  const uint8_t mask_bit = masked ? 0x80 : 0x00;
  if (length_form == 1) {
    h.push_back(static_cast<char>(mask_bit | length));
  } else {
    h.push_back(static_cast<char>(mask_bit | (length_form == 2 ? 126 : 127)));
    for (int i = length_form - 1; i >= 0; --i) h.push_back(static_cast<char>(length >> (8 * i)));
  }
  if (masked) h.append(reinterpret_cast<const char*>(kMaskKey.data()), kMaskKey.size());
  return h;
}

// A whole client frame as a browser would send it: masked with kMaskKey unless told otherwise.
std::string ClientFrame(uint8_t b0, std::string_view payload, bool masked = true,
                        int length_form = 0) {
  std::string f = ClientHeader(b0, payload.size(), masked, length_form);
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(payload[i] ^ (masked ? kMaskKey[i % 4] : 0)));
  }
  return f;
}

std::string Text(std::string_view payload) { return ClientFrame(0x81, payload); }

std::string Pattern(size_t n, int seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed) % 251);
  return s;
}

struct Received {
  Opcode opcode;
  bool fin;
  std::string payload;
};

class RecordingSink final : public FrameSink {
 public:
  explicit RecordingSink(size_t stop_after = std::numeric_limits<size_t>::max())
      : stop_after_(stop_after) {}
  bool OnFrame(const Frame& frame) override {
    frames.push_back({frame.opcode, frame.fin, std::string(frame.payload)});
    return frames.size() < stop_after_;
  }
  std::vector<Received> frames;

 private:
  size_t stop_after_;
};

// What one Parse call did: its result and the frames the sink saw.
struct Outcome {
  ParseResult result;
  std::vector<Received> frames;
};

Outcome ParseOnce(FrameReader& reader, std::string_view buf,
                  size_t stop_after = std::numeric_limits<size_t>::max()) {
  RecordingSink sink(stop_after);
  const ParseResult r =
      reader.Parse({reinterpret_cast<const uint8_t*>(buf.data()), buf.size()}, sink);
  return {r, std::move(sink.frames)};
}

// Expects buf to be whole frames, all accepted; returns them.
std::vector<Received> RunWhole(FrameReader& reader, std::string_view buf) {
  Outcome o = ParseOnce(reader, buf);
  EXPECT_EQ(o.result.error, CloseCode::kNone);
  EXPECT_EQ(o.result.consumed, buf.size());
  return std::move(o.frames);
}

void ExpectError(std::string_view buf, CloseCode code, uint64_t max_payload = kMaxPayload) {
  FrameReader reader(max_payload);
  const Outcome o = ParseOnce(reader, buf);
  EXPECT_EQ(o.result.error, code);
  EXPECT_EQ(o.result.consumed, 0u);
  EXPECT_TRUE(o.frames.empty());
}

TEST(FrameReaderTest, RfcMaskedHelloExample) {
  const std::string buf = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  EXPECT_EQ(buf, Text("Hello"));
  FrameReader reader(kMaxPayload);
  const std::vector<Received> frames = RunWhole(reader, buf);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, Opcode::kText);
  EXPECT_TRUE(frames[0].fin);
  EXPECT_EQ(frames[0].payload, "Hello");
}

TEST(FrameReaderTest, EmptyBufferEmptyPayloadsAndEveryByteValue) {
  FrameReader reader(kMaxPayload);
  EXPECT_TRUE(RunWhole(reader, "").empty());
  std::string all(256, '\0');
  for (int i = 0; i < 256; ++i) all[i] = static_cast<char>(i);
  const std::vector<Received> frames =
      RunWhole(reader, Text("") + ClientFrame(0x88, "") + ClientFrame(0x82, all));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload, "");
  EXPECT_EQ(frames[1].opcode, Opcode::kClose);
  EXPECT_EQ(frames[2].opcode, Opcode::kBinary);
  EXPECT_EQ(frames[2].payload, all);
}

TEST(FrameReaderTest, ExtendedLengths) {
  FrameReader reader(kMaxPayload);
  for (size_t n : {125, 126, 4096, 5000, 65535, 65536, 200000}) {
    SCOPED_TRACE(n);
    const std::string payload = Pattern(n, static_cast<int>(n));
    const std::string buf = Text(payload);
    EXPECT_EQ(buf.size(), n + (n < 126 ? 6 : n < 65536 ? 8 : 14));
    const std::vector<Received> frames = RunWhole(reader, buf);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, payload);
  }
}

TEST(FrameReaderTest, SeveralFramesInOneBuffer) {
  const std::string big = Pattern(70000);
  const std::string buf = ClientFrame(0x01, "frag-") + ClientFrame(0x89, "p") +
                          ClientFrame(0x80, "end") + ClientFrame(0x8A, "") + Text(big) +
                          ClientFrame(0x82, "\x01\x02") + ClientFrame(0x88, "\x03\xe8");
  FrameReader reader(kMaxPayload);
  const std::vector<Received> f = RunWhole(reader, buf);
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0].opcode, Opcode::kText);
  EXPECT_FALSE(f[0].fin);
  EXPECT_EQ(f[0].payload, "frag-");
  EXPECT_EQ(f[1].opcode, Opcode::kPing);
  EXPECT_EQ(f[1].payload, "p");
  EXPECT_EQ(f[2].opcode, Opcode::kContinuation);
  EXPECT_TRUE(f[2].fin);
  EXPECT_EQ(f[2].payload, "end");
  EXPECT_EQ(f[3].opcode, Opcode::kPong);
  EXPECT_EQ(f[4].payload, big);
  EXPECT_EQ(f[5].payload, "\x01\x02");
  EXPECT_EQ(f[6].opcode, Opcode::kClose);
  EXPECT_EQ(f[6].payload, "\x03\xe8");
}

TEST(FrameReaderTest, SingleFrameSplitAtEveryOffset) {
  const std::string payload = Pattern(300);
  const std::string frame = Text(payload);
  FrameReader reader(kMaxPayload);  // one reader for all splits: no state may leak between them
  for (size_t k = 0; k < frame.size(); ++k) {
    SCOPED_TRACE(k);
    const Outcome head = ParseOnce(reader, std::string_view(frame).substr(0, k));
    EXPECT_EQ(head.result.error, CloseCode::kNone);
    EXPECT_EQ(head.result.consumed, 0u);
    EXPECT_TRUE(head.frames.empty());
    const std::vector<Received> frames = RunWhole(reader, frame);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, payload);
  }
}

TEST(FrameReaderTest, ManyFramesSplitAtEveryOffset) {
  const std::vector<std::string> payloads = {"a", Pattern(130, 1), "", Pattern(5000, 2), "z"};
  std::string stream;
  std::vector<size_t> ends;
  for (const std::string& p : payloads) {
    stream += Text(p);
    ends.push_back(stream.size());
  }
  FrameReader reader(kMaxPayload);
  for (size_t k = 0; k <= stream.size(); ++k) {
    SCOPED_TRACE(k);
    // The caller receives stream[0, k), parses, keeps the unconsumed tail, then appends the
    // rest of the stream when it arrives and parses again.
    const Outcome first = ParseOnce(reader, std::string_view(stream).substr(0, k));
    EXPECT_EQ(first.result.error, CloseCode::kNone);
    size_t whole = 0;
    for (size_t end : ends) whole = end <= k ? end : whole;
    ASSERT_EQ(first.result.consumed, whole);
    std::vector<Received> frames = first.frames;
    for (Received& r : RunWhole(reader, std::string_view(stream).substr(whole))) {
      frames.push_back(std::move(r));
    }
    ASSERT_EQ(frames.size(), payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) EXPECT_EQ(frames[i].payload, payloads[i]);
  }
}

TEST(FrameReaderTest, UnmaskedFrameIsProtocolError) {
  ExpectError(ClientFrame(0x81, "hi", /*masked=*/false), CloseCode::kProtocolError);
  // Known from the first two bytes.
  ExpectError(ClientFrame(0x81, "hi", false).substr(0, 2), CloseCode::kProtocolError);
}

TEST(FrameReaderTest, FramesBeforeAnErrorAreDelivered) {
  const std::string good = Text("ok");
  FrameReader reader(kMaxPayload);
  const Outcome o = ParseOnce(reader, good + ClientFrame(0x81, "bad", false));
  EXPECT_EQ(o.result.error, CloseCode::kProtocolError);
  EXPECT_EQ(o.result.consumed, good.size());
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].payload, "ok");
}

TEST(FrameReaderTest, ReservedBitsAreProtocolError) {
  for (uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
    SCOPED_TRACE(rsv);
    ExpectError(ClientFrame(0x81 | rsv, "x"), CloseCode::kProtocolError);
  }
}

// permessage-deflate (RFC 7692 6.1): RSV1 marks the first frame of a compressed data message;
// on a continuation or control frame it is still an error, and RSV2/RSV3 always are.
TEST(FrameReaderTest, Rsv1OnlyWithDeflateAndOnlyOnADataMessagesFirstFrame) {
  class Sink final : public FrameSink {
   public:
    bool OnFrame(const Frame& f) override {
      seen.push_back(f.compressed);
      return true;
    }
    std::vector<bool> seen;
  };
  auto parse = [](std::string_view buf, bool deflate, Sink* sink) {
    FrameReader reader(kMaxPayload);
    return reader.Parse({reinterpret_cast<const uint8_t*>(buf.data()), buf.size()}, *sink, deflate);
  };
  Sink ok;
  const std::string frames = ClientFrame(0xC1, "z") + Text("p") + ClientFrame(0x41, "a") +
                             ClientFrame(0x80, "b") + ClientFrame(0xC2, "c");
  EXPECT_EQ(parse(frames, true, &ok).error, CloseCode::kNone);
  EXPECT_EQ(ok.seen, (std::vector<bool>{true, false, true, false, true}));
  for (const uint8_t b0 : {0xC0, 0xC9, 0xCA, 0xC8, 0xA1, 0x91, 0xE1}) {
    SCOPED_TRACE(b0);
    Sink bad;
    EXPECT_EQ(parse(ClientFrame(b0, "x"), true, &bad).error, CloseCode::kProtocolError);
    EXPECT_TRUE(bad.seen.empty());
  }
  Sink off;  // not negotiated: RSV1 is a protocol error as before
  EXPECT_EQ(parse(ClientFrame(0xC1, "x"), false, &off).error, CloseCode::kProtocolError);
}

TEST(FrameWriterTest, CompressedFrameHasRsv1) {
  FrameWriter w;
  std::string out;
  w.AppendCompressed(&out, Opcode::kText, "abc");
  EXPECT_EQ(out, std::string("\xC1\x03"
                             "abc"));
}

TEST(FrameReaderTest, UnknownOpcodesAreProtocolError) {
  for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    SCOPED_TRACE(op);
    ExpectError(ClientFrame(0x80 | op, "x"), CloseCode::kProtocolError);
  }
}

TEST(FrameReaderTest, LongControlFrameIsProtocolError) {
  ExpectError(ClientFrame(0x89, Pattern(126)), CloseCode::kProtocolError);
  ExpectError(ClientFrame(0x88, Pattern(200)), CloseCode::kProtocolError);
  ExpectError(ClientFrame(0x8A, Pattern(70000)), CloseCode::kProtocolError);
  // Detected from the first two bytes, before the extended length arrives.
  ExpectError(ClientFrame(0x89, Pattern(126)).substr(0, 2), CloseCode::kProtocolError);
  // 125 is the limit and is fine.
  FrameReader reader(kMaxPayload);
  EXPECT_EQ(RunWhole(reader, ClientFrame(0x89, Pattern(125))).size(), 1u);
}

TEST(FrameReaderTest, FragmentedControlFrameIsProtocolError) {
  ExpectError(ClientFrame(0x09, "ping"), CloseCode::kProtocolError);
  ExpectError(ClientFrame(0x08, ""), CloseCode::kProtocolError);
  ExpectError(ClientFrame(0x0A, "x"), CloseCode::kProtocolError);
}

std::string CloseBody(uint16_t code, std::string_view reason = {}) {
  std::string body{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  body.append(reason);
  return body;
}

TEST(FrameReaderTest, CloseBodiesAPeerMaySendAreDelivered) {
  FrameReader reader(kMaxPayload);
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                        3000, 3999, 4000, 4999}) {
    SCOPED_TRACE(code);
    const std::vector<Received> frames =
        RunWhole(reader, ClientFrame(0x88, CloseBody(code, "bye \xc3\xa9")));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, CloseBody(code, "bye \xc3\xa9"));
  }
  EXPECT_EQ(RunWhole(reader, ClientFrame(0x88, "")).size(), 1u);  // no body at all is fine
  EXPECT_EQ(RunWhole(reader, ClientFrame(0x88, CloseBody(1000, std::string(123, 'r')))).size(), 1u);
}

TEST(FrameReaderTest, CloseWithOneByteOrAnUnsendableCodeIsProtocolError) {
  ExpectError(ClientFrame(0x88, "\x03"), CloseCode::kProtocolError);
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    ExpectError(ClientFrame(0x88, CloseBody(code)), CloseCode::kProtocolError);
    ExpectError(ClientFrame(0x88, CloseBody(code, "reason")), CloseCode::kProtocolError);
  }
}

TEST(FrameReaderTest, CloseReasonThatIsNotUtf8IsInvalidPayload) {
  for (std::string_view reason : {"\xff", "ok\xc0\xaf", "\xed\xa0\x80", "\xe2\x82"}) {
    SCOPED_TRACE(reason);
    ExpectError(ClientFrame(0x88, CloseBody(1000, reason)), CloseCode::kInvalidPayload);
  }
  // The frames before the bad close are delivered; the close itself is not.
  FrameReader reader(kMaxPayload);
  const std::string good = Text("ok");
  const Outcome o = ParseOnce(reader, good + ClientFrame(0x88, CloseBody(1000, "\xff")));
  EXPECT_EQ(o.result.error, CloseCode::kInvalidPayload);
  EXPECT_EQ(o.result.consumed, good.size());
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].opcode, Opcode::kText);
}

TEST(FrameReaderTest, NonMinimalOrHugeLengthIsProtocolError) {
  ExpectError(ClientFrame(0x81, "short", true, /*length_form=*/2), CloseCode::kProtocolError);
  ExpectError(ClientFrame(0x81, Pattern(300), true, /*length_form=*/8), CloseCode::kProtocolError);
  // 64-bit length with the most significant bit set: refused from the header alone.
  ExpectError(ClientHeader(0x81, uint64_t{1} << 63, true, 8), CloseCode::kProtocolError);
}

TEST(FrameReaderTest, OversizedFrameRefusedFromHeaderAlone) {
  constexpr uint64_t kLimit = 1000;
  // Only the length field has arrived: no mask key, no payload.
  ExpectError(ClientHeader(0x81, kLimit + 1).substr(0, 4), CloseCode::kMessageTooBig, kLimit);
  ExpectError(ClientHeader(0x82, uint64_t{1} << 40).substr(0, 10), CloseCode::kMessageTooBig,
              kLimit);
  ExpectError(ClientHeader(0x81, 101), CloseCode::kMessageTooBig, 100);
  ExpectError(ClientHeader(0x00, kLimit + 1), CloseCode::kMessageTooBig, kLimit);  // continuation
  // Exactly the limit is accepted.
  FrameReader reader(kLimit);
  EXPECT_EQ(RunWhole(reader, Text(Pattern(kLimit))).size(), 1u);
}

TEST(FrameReaderTest, TwoConnectionsInterleavedThroughOneReader) {
  // Large frames go through several rounds of wslay's 4 KiB buffer; had wslay kept any of one
  // connection's bytes, the other connection's frames would come out corrupted.
  const std::string a1 = Pattern(9000, 1), a2 = Pattern(70000, 2), a3 = "a3";
  const std::string b1 = "b1", b2 = Pattern(5000, 3), b3 = Pattern(126, 4);
  const std::string conn_a = Text(a1) + Text(a2) + Text(a3);
  const std::string conn_b = Text(b1) + Text(b2) + ClientFrame(0x82, b3);
  FrameReader reader(kMaxPayload);
  std::vector<Received> got_a, got_b;
  // Each "connection" keeps its unconsumed tail and appends newly arrived bytes to it.
  auto feed = [&reader](std::string& pending, std::vector<Received>& got) {
    Outcome o = ParseOnce(reader, pending);
    EXPECT_EQ(o.result.error, CloseCode::kNone);
    pending.erase(0, o.result.consumed);
    for (Received& r : o.frames) got.push_back(std::move(r));
    return o.result.consumed;
  };
  std::string pending_a = conn_a.substr(0, Text(a1).size() + 3000);
  std::string pending_b = conn_b.substr(0, conn_b.size() - 1);
  EXPECT_EQ(feed(pending_a, got_a), Text(a1).size());
  EXPECT_EQ(feed(pending_b, got_b), Text(b1).size() + Text(b2).size());
  pending_a += conn_a.substr(Text(a1).size() + 3000, 40000);
  EXPECT_EQ(feed(pending_a, got_a), 0u);
  pending_b += conn_b.back();
  EXPECT_EQ(feed(pending_b, got_b), ClientFrame(0x82, b3).size());
  pending_a += conn_a.substr(Text(a1).size() + 43000);
  EXPECT_EQ(feed(pending_a, got_a), Text(a2).size() + Text(a3).size());
  EXPECT_TRUE(pending_a.empty() && pending_b.empty());

  ASSERT_EQ(got_a.size(), 3u);
  EXPECT_EQ(got_a[0].payload, a1);
  EXPECT_EQ(got_a[1].payload, a2);
  EXPECT_EQ(got_a[2].payload, a3);
  ASSERT_EQ(got_b.size(), 3u);
  EXPECT_EQ(got_b[0].payload, b1);
  EXPECT_EQ(got_b[1].payload, b2);
  EXPECT_EQ(got_b[2].payload, b3);
  EXPECT_EQ(got_b[2].opcode, Opcode::kBinary);
}

TEST(FrameReaderTest, ErrorOnOneConnectionDoesNotDisturbAnother) {
  FrameReader reader(100);
  EXPECT_EQ(ParseOnce(reader, Text("fine") + ClientHeader(0x81, 5000)).result.error,
            CloseCode::kMessageTooBig);
  EXPECT_EQ(ParseOnce(reader, ClientFrame(0x81 | 0x40, "x")).result.error,
            CloseCode::kProtocolError);
  const std::vector<Received> frames = RunWhole(reader, Text("hello") + Text(Pattern(100)));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_EQ(frames[1].payload, Pattern(100));
}

TEST(FrameReaderTest, SinkReturningFalseStopsAfterThatFrame) {
  const std::string f1 = ClientFrame(0x88, "\x03\xe8"), f2 = Text("after"), f3 = Text("more");
  const std::string buf = f1 + f2 + f3;
  FrameReader reader(kMaxPayload);
  const Outcome o = ParseOnce(reader, buf, /*stop_after=*/1);
  EXPECT_EQ(o.result.error, CloseCode::kNone);
  EXPECT_EQ(o.result.consumed, f1.size());
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].opcode, Opcode::kClose);

  // Another connection next: the frames after the stop must not surface there.
  const std::vector<Received> other = RunWhole(reader, Text("other"));
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].payload, "other");

  // The caller may still parse what it kept, and gets each remaining frame exactly once.
  const std::vector<Received> rest = RunWhole(reader, std::string_view(buf).substr(f1.size()));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].payload, "after");
  EXPECT_EQ(rest[1].payload, "more");
}

TEST(FrameWriterTest, HeadersAreByteExact) {
  const std::vector<std::pair<size_t, std::string>> cases = {
      {0, std::string("\x81\x00", 2)},
      {125, "\x81\x7d"},
      {126, std::string("\x81\x7e\x00\x7e", 4)},
      {65535, "\x81\x7e\xff\xff"},
      {65536, std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10)},
  };
  FrameWriter writer;
  for (const auto& [length, header] : cases) {
    SCOPED_TRACE(length);
    const std::string payload = Pattern(length);
    std::string out;
    writer.Append(&out, Opcode::kText, payload);
    ASSERT_EQ(out.size(), header.size() + length);
    EXPECT_EQ(out.substr(0, header.size()), header);
    EXPECT_EQ(out.substr(header.size()), payload);  // unmasked
    EXPECT_EQ(ServerHeaderSize(length), header.size());
  }
}

TEST(FrameWriterTest, OpcodesAndAppending) {
  FrameWriter writer;
  std::string out = "prefix";
  writer.Append(&out, Opcode::kBinary, "b");
  writer.Append(&out, Opcode::kPing, "");
  writer.Append(&out, Opcode::kPong, "pp");
  EXPECT_EQ(out, std::string("prefix\x82\x01"
                             "b\x89\x00\x8a\x02pp",
                             15));
}

TEST(FrameWriterTest, ServerHeaderSizeBoundaries) {
  EXPECT_EQ(ServerHeaderSize(0), 2u);
  EXPECT_EQ(ServerHeaderSize(125), 2u);
  EXPECT_EQ(ServerHeaderSize(126), 4u);
  EXPECT_EQ(ServerHeaderSize(65535), 4u);
  EXPECT_EQ(ServerHeaderSize(65536), 10u);
  EXPECT_EQ(ServerHeaderSize(uint64_t{1} << 40), 10u);
}

TEST(FrameWriterTest, CloseCarriesCodeAndReason) {
  FrameWriter writer;
  std::string out;
  writer.AppendClose(&out, CloseCode::kNormal, "bye");
  EXPECT_EQ(out, std::string("\x88\x05\x03\xe8"
                             "bye",
                             7));
  out.clear();
  writer.AppendClose(&out, CloseCode::kPolicyViolation, "");
  EXPECT_EQ(out, std::string("\x88\x02\x03\xf0", 4));
  out.clear();
  writer.AppendClose(&out, CloseCode::kNone, "ignored");
  EXPECT_EQ(out, std::string("\x88\x00", 2));
}

TEST(FrameWriterTest, CloseReasonIsTruncatedTo125BytesOfPayload) {
  FrameWriter writer;
  std::string out;
  writer.AppendClose(&out, CloseCode::kMessageTooBig, std::string(200, 'r'));
  EXPECT_EQ(out, "\x88\x7d\x03\xf1" + std::string(123, 'r'));
  out.clear();
  writer.AppendClose(&out, CloseCode::kNormal, std::string(123, 'x'));  // fits untouched
  EXPECT_EQ(out, "\x88\x7d\x03\xe8" + std::string(123, 'x'));
}

TEST(FrameWriterTest, CloseReasonTruncationKeepsUtf8Whole) {
  FrameWriter writer;
  // 122 ASCII bytes then a 2-byte 'é': byte 123 would split it, so it is dropped whole.
  std::string out;
  writer.AppendClose(&out, CloseCode::kGoingAway, std::string(122, 'a') + "\xc3\xa9" + "tail");
  EXPECT_EQ(out, "\x88\x7c\x03\xe9" + std::string(122, 'a'));
  // A 4-byte emoji straddling the limit: 120 + 4 = 124 > 123.
  out.clear();
  writer.AppendClose(&out, CloseCode::kGoingAway, std::string(120, 'a') + "\xf0\x9f\x98\x80");
  EXPECT_EQ(out.substr(4), std::string(120, 'a'));
  // An emoji ending exactly at the limit stays.
  out.clear();
  const std::string fits = std::string(119, 'a') + "\xf0\x9f\x98\x80";
  writer.AppendClose(&out, CloseCode::kGoingAway, fits + "!");
  EXPECT_EQ(out.substr(4), fits);
}

TEST(FrameWriterTest, ReaderRefusesUnmaskedServerFrames) {
  // What a server must send is exactly what a server-side reader must refuse.
  FrameWriter writer;
  std::string out;
  writer.Append(&out, Opcode::kText, "hi");
  ExpectError(out, CloseCode::kProtocolError);
}

}  // namespace
}  // namespace roomcast::ws
