// permessage-deflate codec and negotiation (ws/deflate.h), checked against zlib's own raw
// inflate and deflate.
#include "ws/deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <utility>
#include <vector>

#include "ws/ws_frame.h"

namespace roomcast::ws {
namespace {

// What a client does with a compressed message (RFC 7692 7.2.2), with a fresh zlib stream.
std::string ZlibInflate(const std::string& payload) {
  std::string in = payload + std::string("\x00\x00\xff\xff", 4);
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

// What a client's compressor sends: raw deflate, sync flush, tail removed.
std::string ZlibDeflate(const std::string& text, int flush = Z_SYNC_FLUSH) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(text.size() + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, flush);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  if (flush == Z_SYNC_FLUSH && out.size() >= 4) out.resize(out.size() - 4);
  return out;
}

std::string ChatJson(size_t text_bytes, int seq) {
  return R"({"type":"msg","room":"lobby","seq":)" + std::to_string(seq) + R"(,"id":"c-)" +
         std::to_string(seq) + R"(","user":"viewer-12","text":")" +
         std::string(text_bytes, 'a' + seq % 26) + R"(","ts":1764921600000})";
}

TEST(Deflate, CompressesEachMessageFromAnEmptyWindow) {
  SharedDeflater d(256);
  for (int seq = 1; seq <= 3; ++seq) {
    const std::string msg = ChatJson(1000, seq);
    std::string out = "prefix";
    ASSERT_TRUE(d.Compress(msg, &out));
    ASSERT_EQ(out.substr(0, 6), "prefix");  // appended
    const std::string payload = out.substr(6);
    EXPECT_LT(payload.size(), msg.size() / 4);
    EXPECT_EQ(ZlibInflate(payload), msg);  // a fresh inflater: no context from earlier ones
  }
  EXPECT_EQ(d.Calls(), 3u);
}

TEST(Deflate, SmallOrIncompressibleMessagesStayPlain) {
  SharedDeflater d(256);
  std::string out;
  EXPECT_FALSE(d.Compress(std::string(256, 'a'), &out));  // not larger than the threshold
  EXPECT_EQ(d.Calls(), 0u);
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 600; ++i) {
    x = x * 1103515245u + 12345u;
    noise += static_cast<char>(x >> 24);
  }
  EXPECT_FALSE(d.Compress(noise, &out));  // not smaller after
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(d.Compress(std::string(257, 'a'), &out));
}

TEST(Deflate, InflatesClientMessages) {
  SharedInflater in;
  std::string out;
  for (int seq = 1; seq <= 2; ++seq) {
    const std::string msg = R"({"op":"send","text":")" + std::string(300, 'x') + "\"}";
    EXPECT_EQ(in.Inflate(ZlibDeflate(msg), 65536, &out), InflateStatus::kOk);
    EXPECT_EQ(out, msg);
  }
  // A message ending in a final block (Z_FINISH) is allowed too.
  EXPECT_EQ(in.Inflate(ZlibDeflate("hello", Z_FINISH), 65536, &out), InflateStatus::kOk);
  EXPECT_EQ(out, "hello");
  EXPECT_EQ(in.Inflate("", 65536, &out), InflateStatus::kOk);  // an empty message
  EXPECT_EQ(out, "");
  EXPECT_EQ(in.Inflate("\xff\xff\xff\xff garbage", 65536, &out), InflateStatus::kBad);
  // Still usable after an error.
  EXPECT_EQ(in.Inflate(ZlibDeflate("again"), 65536, &out), InflateStatus::kOk);
  EXPECT_EQ(out, "again");
}

TEST(Deflate, BombIsStoppedAtTheBound) {
  SharedInflater in;
  const std::string bomb = ZlibDeflate(std::string(50 << 20, '\0'));  // 50 MiB of zeros
  ASSERT_LT(bomb.size(), 100000u);
  std::string out;
  EXPECT_EQ(in.Inflate(bomb, 65536, &out), InflateStatus::kTooBig);
  EXPECT_LE(out.size(), 65536u + 16384u);  // stopped within one chunk of the bound
  const std::string exact = std::string(65536, 'z');
  EXPECT_EQ(in.Inflate(ZlibDeflate(exact), 65536, &out), InflateStatus::kOk);
  EXPECT_EQ(in.Inflate(ZlibDeflate(exact + "z"), 65536, &out), InflateStatus::kTooBig);
}

// The twin of a batch: the large frames compressed with RSV1, the small one copied; a client
// inflating each compressed frame on its own gets the plain batch's payloads back.
TEST(Deflate, DeflateFramesBuildsTheCompressedTwinOfABatch) {
  FrameWriter w;
  std::string plain;
  const std::string big1 = ChatJson(1000, 1), small = ChatJson(10, 2), big2 = ChatJson(70000, 3);
  w.Append(&plain, Opcode::kText, big1);
  w.Append(&plain, Opcode::kText, small);
  w.Append(&plain, Opcode::kText, big2);
  SharedDeflater d(256);
  std::string twin;
  ASSERT_TRUE(DeflateFrames(plain, d, &twin));
  EXPECT_EQ(d.Calls(), 2u);  // the small frame is not run through deflate
  EXPECT_LT(twin.size(), plain.size());
  EXPECT_EQ(d.BytesIn(), big1.size() + big2.size());
  std::vector<std::pair<bool, std::string>> got;
  std::string_view rest = twin;
  while (!rest.empty()) {
    const auto b0 = static_cast<uint8_t>(rest[0]);
    const auto b1 = static_cast<uint8_t>(rest[1]);
    size_t h = 2;
    uint64_t len = b1 & 0x7F;
    if (len == 126) {
      len = (static_cast<uint8_t>(rest[2]) << 8) | static_cast<uint8_t>(rest[3]);
      h = 4;
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(rest[2 + i]);
      h = 10;
    }
    ASSERT_EQ(b0 & 0x8F, 0x81);
    const std::string payload(rest.substr(h, len));
    const bool rsv1 = (b0 & 0x40) != 0;
    got.emplace_back(rsv1, rsv1 ? ZlibInflate(payload) : payload);
    rest.remove_prefix(h + len);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(true, big1));
  EXPECT_EQ(got[1], std::make_pair(false, small));
  EXPECT_EQ(got[2], std::make_pair(true, big2));
  EXPECT_LT(d.BytesOut(), d.BytesIn());
  // Nothing to compress: no twin, the plain batch serves everyone.
  std::string only_small;
  w.Append(&only_small, Opcode::kText, small);
  EXPECT_FALSE(DeflateFrames(only_small, d, &twin));
  EXPECT_TRUE(twin.empty());
}

TEST(Deflate, Negotiation) {
  const std::string yes =
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
      "client_no_context_takeover\r\n";
  EXPECT_EQ(NegotiateDeflate("permessage-deflate"), yes);
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_max_window_bits"), yes);  // Chrome, ws
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_max_window_bits=10"), yes);
  EXPECT_EQ(NegotiateDeflate("permessage-deflate;client_no_context_takeover;"
                             " server_no_context_takeover; server_max_window_bits=15"),
            yes);
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; server_max_window_bits=\"15\""), yes);
  // Offers we cannot honour are declined; a later acceptable one is taken.
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; server_max_window_bits=10"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; server_max_window_bits=10, permessage-deflate"),
            yes);
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_max_window_bits=16"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_max_window_bits=7"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; server_no_context_takeover=1"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_no_context_takeover; "
                             "client_no_context_takeover"),
            "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; foo"), "");
  EXPECT_EQ(NegotiateDeflate("x-webkit-deflate-frame"), "");
  EXPECT_EQ(NegotiateDeflate(""), "");
  // Several offers (also from several header lines, joined by ','): the first acceptable one.
  EXPECT_EQ(NegotiateDeflate("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"),
            yes);
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_max_window_bits=abc, permessage-deflate; "
                             "client_no_context_takeover"),
            yes);
  // Malformed: declined, never an error.
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; server_max_window_bits"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; server_max_window_bits=16"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate; client_max_window_bits=\"15"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflate;;"), "");
  EXPECT_EQ(NegotiateDeflate("permessage-deflatex"), "");
  EXPECT_EQ(NegotiateDeflate(",,, ;"), "");
}

}  // namespace
}  // namespace roomcast::ws
