#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::utf8 {
namespace {

using std::string_literals::operator""s;

TEST(Utf8IsValidTest, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValid(""));
  EXPECT_TRUE(IsValid("hello, world"));
  EXPECT_TRUE(IsValid("a\0b"s));
  EXPECT_TRUE(IsValid("\x7f"));
  EXPECT_TRUE(IsValid("\xc2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValid("\xdf\xbf"));          // U+07FF
  EXPECT_TRUE(IsValid("\xe0\xa0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValid("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValid("\xee\x80\x80"));      // U+E000, just above
  EXPECT_TRUE(IsValid("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(IsValid("\xf0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValid("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  EXPECT_TRUE(IsValid("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80!"));
  // Long ASCII runs on both sides of multi-byte characters (exercises the 8-byte fast path).
  EXPECT_TRUE(IsValid(std::string(37, 'a') + "\xc3\xa9" + std::string(19, 'b') + "\xe2\x82\xac"));
}

TEST(Utf8IsValidTest, RejectsOverlongs) {
  EXPECT_FALSE(IsValid("\xc0\x80"));              // U+0000 in 2 bytes
  EXPECT_FALSE(IsValid("\xc1\xbf"));              // U+007F in 2 bytes
  EXPECT_FALSE(IsValid("\xe0\x80\x80"));          // U+0000 in 3 bytes
  EXPECT_FALSE(IsValid("\xe0\x9f\xbf"));          // U+07FF in 3 bytes
  EXPECT_FALSE(IsValid("\xf0\x80\x80\x80"));      // U+0000 in 4 bytes
  EXPECT_FALSE(IsValid("\xf0\x8f\xbf\xbf"));      // U+FFFF in 4 bytes
  EXPECT_FALSE(IsValid("\xf8\x88\x80\x80\x80"));  // 5-byte form
}

TEST(Utf8IsValidTest, RejectsSurrogates) {
  EXPECT_FALSE(IsValid("\xed\xa0\x80"));              // U+D800
  EXPECT_FALSE(IsValid("\xed\xaf\xbf"));              // U+DBFF
  EXPECT_FALSE(IsValid("\xed\xb0\x80"));              // U+DC00
  EXPECT_FALSE(IsValid("\xed\xbf\xbf"));              // U+DFFF
  EXPECT_FALSE(IsValid("\xed\xa0\xbd\xed\xb8\x80"));  // CESU-8 pair for U+1F600
}

TEST(Utf8IsValidTest, RejectsAboveMaxCodePoint) {
  EXPECT_FALSE(IsValid("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValid("\xf5\x80\x80\x80"));
  EXPECT_FALSE(IsValid("\xf7\xbf\xbf\xbf"));
  EXPECT_FALSE(IsValid("\xff"));
  EXPECT_FALSE(IsValid("\xfe"));
}

TEST(Utf8IsValidTest, RejectsTruncatedAndBrokenSequences) {
  EXPECT_FALSE(IsValid("\xc3"));
  EXPECT_FALSE(IsValid("\xe2\x82"));
  EXPECT_FALSE(IsValid("\xf0\x9f\x98"));
  EXPECT_FALSE(IsValid("abc\xf0\x9f"));
  EXPECT_FALSE(IsValid("\xc3\x28"));  // second byte not a continuation
  EXPECT_FALSE(IsValid("\xe2\x28\xa1"));
  EXPECT_FALSE(IsValid("\xe2\x82\x28"));      // third byte not a continuation
  EXPECT_FALSE(IsValid("\xf0\x9f\x98\x28"));  // fourth byte not a continuation
  EXPECT_FALSE(IsValid("\x80"));              // lone continuation
  EXPECT_FALSE(
      IsValid("a\xbf"
              "b"));
  EXPECT_FALSE(IsValid("\xc3\xa9\xa9"));  // one continuation too many
  EXPECT_FALSE(IsValid(std::string(16, 'x') + "\xe2\x82"));
}

TEST(Utf8CountTest, CountsCodePointsNotBytes) {
  EXPECT_EQ(CountCodePoints(""), 0u);
  EXPECT_EQ(CountCodePoints("abc"), 3u);
  EXPECT_EQ(CountCodePoints("\xc3\xa9"), 1u);
  EXPECT_EQ(CountCodePoints("\xe4\xb8\x96\xe7\x95\x8c"), 2u);
  EXPECT_EQ(CountCodePoints("\xf0\x9f\x98\x80!"), 2u);
  EXPECT_EQ(CountCodePoints("a\0b"s), 3u);
}

TEST(Utf8ControlTest, NewlineIsTheOnlyAllowedControl) {
  EXPECT_FALSE(HasForbiddenControl(""));
  EXPECT_FALSE(HasForbiddenControl("line one\nline two\n"));
  EXPECT_FALSE(HasForbiddenControl("\xc2\xa0 no-break space, \xc2\xa9"));  // U+00A0, U+00A9
  EXPECT_FALSE(HasForbiddenControl("\xe2\x80\xa8"));  // U+2028 is not a control character
  EXPECT_TRUE(HasForbiddenControl("a\0b"s));
  EXPECT_TRUE(HasForbiddenControl("tab\there"));
  EXPECT_TRUE(HasForbiddenControl("cr\r"));
  EXPECT_TRUE(HasForbiddenControl("\x1b[31m"));
  EXPECT_TRUE(HasForbiddenControl("\x1f"));
  EXPECT_TRUE(HasForbiddenControl("del\x7f"));
}

TEST(Utf8ControlTest, RejectsC1Controls) {
  EXPECT_TRUE(HasForbiddenControl("\xc2\x80"));    // U+0080
  EXPECT_TRUE(HasForbiddenControl("x\xc2\x85y"));  // U+0085 NEXT LINE
  EXPECT_TRUE(HasForbiddenControl("\xc2\x9f"));    // U+009F
  EXPECT_FALSE(HasForbiddenControl("\xc2\xa0"));   // U+00A0 is just past the C1 block
  // Continuation bytes 80..9F of other characters are not C1 controls.
  EXPECT_FALSE(HasForbiddenControl("\xe2\x80\x9c quoted \xe2\x80\x9d"));
  EXPECT_FALSE(HasForbiddenControl("\xc3\x80"));  // U+00C0
}

}  // namespace
}  // namespace roomcast::utf8
