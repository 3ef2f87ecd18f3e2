#include "chat/emote.h"

#include <gtest/gtest.h>

namespace roomcast::chat {
namespace {

TEST(Emote, EmojiAndShortcodes) {
  for (const char* yes : {"😀", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷", "1️⃣", "#⃣",
                          ":Kappa:", ":+1:", ":heart_eyes:", "©️"}) {
    EXPECT_TRUE(IsEmote(yes)) << yes;
  }
  for (const char* no : {"", "a", "lol", "::", ":a b:", ":x", "1", "😀a", "a😀", "\xe2\x80\x8d",
                         ":waytoolongshortcodethatgoesonandonandon:"}) {
    EXPECT_FALSE(IsEmote(no)) << no;
  }
}

TEST(Emote, EmoteOnlyTextIsEveryTokenAnEmote) {
  EXPECT_TRUE(IsEmoteOnly("😀"));
  EXPECT_TRUE(IsEmoteOnly("  😀 :Kappa:\t👍🏽  "));
  EXPECT_FALSE(IsEmoteOnly("😀 hello"));
  EXPECT_FALSE(IsEmoteOnly(""));
  EXPECT_FALSE(IsEmoteOnly("   "));
}

}  // namespace
}  // namespace roomcast::chat
