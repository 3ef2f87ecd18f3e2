#include "store/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace roomcast {
namespace {

using CrcFn = uint32_t (*)(const void*, size_t, uint32_t);

void ExpectKnownAnswers(CrcFn crc) {
  EXPECT_EQ(crc("", 0, 0), 0u);
  EXPECT_EQ(crc("123456789", 9, 0), 0xE3069283u);
  EXPECT_EQ(crc("a", 1, 0), 0xC1D04330u);
  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  std::vector<uint8_t> b(32, 0);
  EXPECT_EQ(crc(b.data(), b.size(), 0), 0x8A9136AAu);
  std::fill(b.begin(), b.end(), 0xFF);
  EXPECT_EQ(crc(b.data(), b.size(), 0), 0x62A8AB43u);
  for (size_t i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc(b.data(), b.size(), 0), 0x46DD794Eu);
  for (size_t i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(crc(b.data(), b.size(), 0), 0x113FDB5Cu);
}

TEST(Crc32c, KnownAnswers) { ExpectKnownAnswers(&Crc32c); }

TEST(Crc32c, SoftwareKnownAnswers) { ExpectKnownAnswers(&Crc32cSoftware); }

TEST(Crc32c, ChainsAtEverySplit) {
  const std::string s = "The quick brown fox jumps over the lazy dog, 0123456789 times over.";
  const uint32_t whole = Crc32c(s.data(), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Crc32c(s.data() + cut, s.size() - cut, Crc32c(s.data(), cut)), whole) << cut;
    EXPECT_EQ(Crc32cSoftware(s.data() + cut, s.size() - cut, Crc32cSoftware(s.data(), cut)), whole)
        << cut;
  }
  EXPECT_EQ(Crc32c("", 0, whole), whole);
}

TEST(Crc32c, HardwareMatchesSoftwareOnRandomBuffers) {
  if (!Crc32cHasHardware()) GTEST_SKIP() << "no SSE4.2 on this CPU: Crc32c is the software path";
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf(70000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (int i = 0; i < 2000; ++i) {
    const size_t off = rng() % 16;  // misaligned starts too
    const size_t len = i < 100 ? static_cast<size_t>(i) : rng() % (buf.size() - off);
    const uint32_t seed = static_cast<uint32_t>(rng());
    ASSERT_EQ(Crc32c(buf.data() + off, len, seed), Crc32cSoftware(buf.data() + off, len, seed))
        << "off " << off << " len " << len;
  }
}

TEST(Crc32c, DetectsEverySingleBitFlip) {
  std::string s(100, 'q');
  const uint32_t good = Crc32c(s.data(), s.size());
  for (size_t bit = 0; bit < s.size() * 8; ++bit) {
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_NE(Crc32c(s.data(), s.size()), good) << bit;
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  }
}

}  // namespace
}  // namespace roomcast
