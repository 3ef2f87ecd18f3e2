#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/http_parser.h"

namespace roomcast::http {
namespace {

using namespace std::string_view_literals;

TEST(QueryParamTest, FindsPlainValues) {
  std::string v;
  ASSERT_TRUE(QueryParam("room=lobby&name=bob", "room", &v));
  EXPECT_EQ(v, "lobby");
  ASSERT_TRUE(QueryParam("room=lobby&name=bob", "name", &v));
  EXPECT_EQ(v, "bob");
}

TEST(QueryParamTest, DecodesPlusAndPercent) {
  std::string v;
  ASSERT_TRUE(QueryParam("name=john+doe", "name", &v));
  EXPECT_EQ(v, "john doe");
  ASSERT_TRUE(QueryParam("name=john%20doe", "name", &v));
  EXPECT_EQ(v, "john doe");
  ASSERT_TRUE(QueryParam("m=%2B%2b%26%3D%25", "m", &v));
  EXPECT_EQ(v, "++&=%");
  ASSERT_TRUE(QueryParam("m=caf%C3%A9", "m", &v));
  EXPECT_EQ(v, "caf\xc3\xa9");
  ASSERT_TRUE(QueryParam("m=a%00b", "m", &v));
  EXPECT_EQ(v, "a\0b"sv);
  ASSERT_TRUE(QueryParam("m=a=b", "m", &v));
  EXPECT_EQ(v, "a=b");
}

TEST(QueryParamTest, InvalidPercentFails) {
  std::string v = "untouched";
  EXPECT_FALSE(QueryParam("m=%", "m", &v));
  EXPECT_FALSE(QueryParam("m=%2", "m", &v));
  EXPECT_FALSE(QueryParam("m=%zz", "m", &v));
  EXPECT_FALSE(QueryParam("m=%g0&x=1", "m", &v));
  EXPECT_FALSE(QueryParam("m=ab%2", "m", &v));
  EXPECT_EQ(v, "untouched");
  // A broken escape in another pair does not matter.
  ASSERT_TRUE(QueryParam("x=%&m=ok", "m", &v));
  EXPECT_EQ(v, "ok");
}

TEST(QueryParamTest, MissingKey) {
  std::string v = "untouched";
  EXPECT_FALSE(QueryParam("", "room", &v));
  EXPECT_FALSE(QueryParam("name=bob", "room", &v));
  EXPECT_FALSE(QueryParam("lobby=room", "room", &v));
  EXPECT_FALSE(QueryParam("&&&", "room", &v));
  EXPECT_EQ(v, "untouched");
}

TEST(QueryParamTest, KeyIsNotMatchedAsPrefixOrSuffix) {
  std::string v;
  ASSERT_TRUE(QueryParam("roomx=1&room=2", "room", &v));
  EXPECT_EQ(v, "2");
  ASSERT_TRUE(QueryParam("xroom=1&room=3", "room", &v));
  EXPECT_EQ(v, "3");
  EXPECT_FALSE(QueryParam("roo=1", "room", &v));
  EXPECT_FALSE(QueryParam("roomx=1", "room", &v));
}

TEST(QueryParamTest, EmptyAndBareValues) {
  std::string v = "x";
  ASSERT_TRUE(QueryParam("a=1&room=&b=2", "room", &v));
  EXPECT_EQ(v, "");
  v = "x";
  ASSERT_TRUE(QueryParam("a=1&&flag", "flag", &v));
  EXPECT_EQ(v, "");
}

TEST(QueryParamTest, FirstMatchWinsAndKeysAreDecoded) {
  std::string v;
  ASSERT_TRUE(QueryParam("room=a&room=b", "room", &v));
  EXPECT_EQ(v, "a");
  ASSERT_TRUE(QueryParam("ro%6Fm=a", "room", &v));
  EXPECT_EQ(v, "a");
  ASSERT_TRUE(QueryParam("my+key=v", "my key", &v));
  EXPECT_EQ(v, "v");
}

TEST(ParseDecimal, WholeNumbersOnly) {
  uint64_t v = 7;
  EXPECT_TRUE(ParseDecimal("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(ParseDecimal("9999999999999999999", &v));  // 19 digits: the most accepted
  EXPECT_EQ(v, 9999999999999999999ull);
  for (const char* bad :
       {"", "-1", "+1", " 1", "1 ", "1.0", "0x10", "12a", "99999999999999999999"}) {
    v = 42;
    EXPECT_FALSE(ParseDecimal(bad, &v)) << bad;
    EXPECT_EQ(v, 42u) << "left alone on failure";
  }
}

}  // namespace
}  // namespace roomcast::http
