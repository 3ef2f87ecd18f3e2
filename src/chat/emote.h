// Emotes (PROTOCOL.md, "Room modes" and "Reactions"): one emoji, or a :shortcode:. Pure, any
// thread.
#pragma once

#include <string_view>

namespace roomcast::chat {

// One emoji (a single pictograph, with its variation selectors, skin tones, keycap or ZWJ
// sequence, or a flag) or a :shortcode: (1..32 letters, digits and _+- between colons).
[[nodiscard]] bool IsEmote(std::string_view token);

// Emote-only mode: every whitespace-separated token of `text` is an emote (an empty or blank text
// is not).
[[nodiscard]] bool IsEmoteOnly(std::string_view text);

}  // namespace roomcast::chat
