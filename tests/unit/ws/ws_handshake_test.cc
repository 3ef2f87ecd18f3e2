#include "ws/ws_handshake.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::ws {
namespace {

// The worked example of RFC 6455 section 1.3 (also checked against Python hashlib + base64).
constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

TEST(AcceptKeyTest, MatchesRfcExample) { EXPECT_EQ(AcceptKey(kRfcKey), kRfcAccept); }

TEST(AcceptKeyTest, IsAlways28Characters) {
  EXPECT_EQ(AcceptKey("AAAAAAAAAAAAAAAAAAAAAA==").size(), 28u);
  EXPECT_EQ(AcceptKey("").size(), 28u);
  // Longer than the fast path's stack buffer: still hashed whole.
  const std::string long_key(200, 'k');
  EXPECT_EQ(AcceptKey(long_key).size(), 28u);
  EXPECT_NE(AcceptKey(long_key), AcceptKey(std::string(199, 'k')));
}

TEST(IsValidClientKeyTest, AcceptsBase64OfSixteenBytes) {
  EXPECT_TRUE(IsValidClientKey(kRfcKey));
  EXPECT_TRUE(IsValidClientKey("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(IsValidClientKey("/////////////////////w=="));
  EXPECT_TRUE(IsValidClientKey("+++++++++++++++++++++g=="));
  EXPECT_TRUE(IsValidClientKey("x3JJHMbDL1EzLkh9GBhXDw=="));
}

TEST(IsValidClientKeyTest, RejectsWrongLength) {
  EXPECT_FALSE(IsValidClientKey(""));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ==="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ==\r\n"));
  // 17 bytes encode to 24 characters with a single '='.
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQo="));
  // 18 bytes: 24 characters, no padding.
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQoK"));
}

TEST(IsValidClientKeyTest, RejectsCharactersOutsideTheAlphabet) {
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZ-=="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSB b25jZQ=="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBs=SBub25jZQ=="));
  EXPECT_FALSE(IsValidClientKey(std::string_view("dGhlIHNhbXBsZ\0Bub25jZQ==", 24)));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ_="));
}

TEST(IsValidClientKeyTest, RejectsNonCanonicalPaddingBits) {
  // 'R' carries non-zero bits beyond the 128 bits of the key.
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZR=="));
}

TEST(UpgradeResponseTest, HasStatusHeadersAndBlankLine) {
  const std::string r = UpgradeResponse(kRfcKey);
  EXPECT_EQ(r.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  ASSERT_GE(r.size(), 4u);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
  // Exactly one blank line: the header block ends once.
  EXPECT_EQ(r.find("\r\n\r\n"), r.size() - 4);
}

}  // namespace
}  // namespace roomcast::ws
