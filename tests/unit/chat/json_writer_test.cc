#include "base/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace roomcast::json {
namespace {

using std::string_literals::operator""s;

std::string Quoted(std::string_view s) {
  std::string out;
  AppendString(&out, s);
  return out;
}

TEST(JsonStringTest, PlainTextIsQuotedAsIs) {
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Quoted("hi there"), "\"hi there\"");
  EXPECT_EQ(Quoted("/ and ' stay"), "\"/ and ' stay\"");
}

TEST(JsonStringTest, AppendsWithoutClearing) {
  std::string out = "{\"text\":";
  AppendString(&out, "x");
  out += '}';
  EXPECT_EQ(out, "{\"text\":\"x\"}");
}

TEST(JsonStringTest, EscapesQuoteAndBackslash) {
  EXPECT_EQ(Quoted("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(Quoted("C:\\path\\"), R"("C:\\path\\")");
  EXPECT_EQ(Quoted("\"\\\""), R"("\"\\\"")");
}

TEST(JsonStringTest, ShortEscapes) {
  EXPECT_EQ(Quoted("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
}

TEST(JsonStringTest, EveryOtherC0ControlAsUnicodeEscape) {
  EXPECT_EQ(Quoted("\0"s), R"("\u0000")");
  EXPECT_EQ(Quoted("\x01"), R"("\u0001")");
  EXPECT_EQ(Quoted("\x0b"), R"("\u000b")");
  EXPECT_EQ(Quoted("\x1b[0m"), R"("\u001b[0m")");
  EXPECT_EQ(Quoted("\x1f"), R"("\u001f")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string q = Quoted(std::string(1, static_cast<char>(c)));
    for (char ch : q) EXPECT_GE(static_cast<unsigned char>(ch), 0x20u) << c;
  }
}

TEST(JsonStringTest, DelAndNonAsciiPassThrough) {
  EXPECT_EQ(Quoted("\x7f"), "\"\x7f\"");
  EXPECT_EQ(Quoted("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
            "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  EXPECT_EQ(Quoted("\xc2\x85"), "\"\xc2\x85\"");  // C1 is legal JSON
}

TEST(JsonStringTest, LineAndParagraphSeparatorsAreEscaped) {
  EXPECT_EQ(Quoted("a\xe2\x80\xa8z"), R"("a\u2028z")");
  EXPECT_EQ(Quoted("\xe2\x80\xa9"), R"("\u2029")");
  EXPECT_EQ(Quoted("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
  // Neighbours sharing the E2 80 prefix are left alone.
  EXPECT_EQ(Quoted("\xe2\x80\xa7\xe2\x80\xaa\xe2\x80\x9c"),
            "\"\xe2\x80\xa7\xe2\x80\xaa\xe2\x80\x9c\"");
  EXPECT_EQ(Quoted("\xe2\x82\xac"), "\"\xe2\x82\xac\"");
}

TEST(JsonStringTest, MixedRunsKeepOrder) {
  EXPECT_EQ(Quoted("x\"y\nz\xe2\x80\xa8w\\"), R"("x\"y\nz\u2028w\\")");
}

TEST(JsonIntTest, Integers) {
  std::string out;
  AppendInt(&out, 0);
  out += ',';
  AppendInt(&out, -42);
  out += ',';
  AppendInt(&out, std::numeric_limits<int64_t>::min());
  out += ',';
  AppendInt(&out, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(out, "0,-42,-9223372036854775808,9223372036854775807");
  out.clear();
  AppendUint(&out, 0);
  out += ',';
  AppendUint(&out, 1763800000123u);
  out += ',';
  AppendUint(&out, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(out, "0,1763800000123,18446744073709551615");
}

}  // namespace
}  // namespace roomcast::json
