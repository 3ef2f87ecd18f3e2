#include "auth/base64url.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::auth {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string in;
  for (int n = 0; n < 40; ++n) {
    std::string enc = EncodeBase64Url(in);
    EXPECT_EQ(enc.find('='), std::string::npos);
    std::string out;
    ASSERT_TRUE(DecodeBase64Url(enc, &out)) << n;
    EXPECT_EQ(out, in);
    in.push_back(static_cast<char>(n * 37 + 250));
  }
}

TEST(Base64Url, KnownVectors) {
  EXPECT_EQ(EncodeBase64Url("f"), "Zg");
  EXPECT_EQ(EncodeBase64Url("fo"), "Zm8");
  EXPECT_EQ(EncodeBase64Url("foo"), "Zm9v");
  EXPECT_EQ(EncodeBase64Url("\xfb\xff"), "-_8");
}

TEST(Base64Url, RefusesWhatNoEncoderWrites) {
  std::string out;
  EXPECT_FALSE(DecodeBase64Url("Zg==", &out));   // padding
  EXPECT_FALSE(DecodeBase64Url("Zm9v+", &out));  // a length of 4k+1
  EXPECT_FALSE(DecodeBase64Url("Zm/v", &out));   // '/' is not base64url
  EXPECT_FALSE(DecodeBase64Url("Zh", &out));     // non-zero leftover bits
  EXPECT_FALSE(DecodeBase64Url("Zm 9", &out));
}

}  // namespace
}  // namespace roomcast::auth
