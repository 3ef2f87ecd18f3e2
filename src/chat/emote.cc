#include "chat/emote.h"

#include <cstdint>

namespace roomcast::chat {
namespace {

constexpr size_t kMaxShortcode = 32;
constexpr size_t kMaxEmojiCodePoints = 16;  // the longest ZWJ family sequences use about 10

bool IsShortcode(std::string_view t) {
  if (t.size() < 3 || t.size() > kMaxShortcode + 2 || t.front() != ':' || t.back() != ':') {
    return false;
  }
  for (char c : t.substr(1, t.size() - 2)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Reads one code point of valid UTF-8 at s[*i]; false at a malformed sequence.
bool Next(std::string_view s, size_t* i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[k])); };
  uint32_t c = byte(*i);
  size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  if (*i + len > s.size()) return false;
  if (len == 1) {
    *cp = c;
  } else {
    uint32_t v = c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) v = (v << 6) | (byte(*i + k) & 0x3f);
    *cp = v;
  }
  *i += len;
  return true;
}

// A pictograph that may stand alone as an emoji (the emoji blocks of Unicode 15).
bool IsPictograph(uint32_t c) {
  return (c >= 0x1f000 && c <= 0x1faff) || (c >= 0x2600 && c <= 0x27bf) ||
         (c >= 0x2300 && c <= 0x23ff) || (c >= 0x2b00 && c <= 0x2bff) ||
         (c >= 0x2190 && c <= 0x21ff) || (c >= 0x25a0 && c <= 0x25ff) || c == 0x00a9 ||
         c == 0x00ae || c == 0x203c || c == 0x2049 || c == 0x2122 || c == 0x2139 || c == 0x3030 ||
         c == 0x303d || c == 0x3297 || c == 0x3299;
}
bool IsModifier(uint32_t c) {
  return c == 0xfe0f || c == 0xfe0e || c == 0x20e3 || (c >= 0x1f3fb && c <= 0x1f3ff) ||
         (c >= 0xe0020 && c <= 0xe007f);
}
bool IsKeycapBase(uint32_t c) { return (c >= '0' && c <= '9') || c == '#' || c == '*'; }

bool IsEmojiSequence(std::string_view t) {
  size_t i = 0, n = 0;
  bool need_base = true, saw_pictograph = false;
  uint32_t cp = 0;
  while (i < t.size()) {
    if (!Next(t, &i, &cp) || ++n > kMaxEmojiCodePoints) return false;
    if (need_base) {
      if (IsPictograph(cp)) {
        saw_pictograph = true;
      } else if (IsKeycapBase(cp) && n == 1) {
        // a keycap: digit, then FE0F? and 20E3
      } else {
        return false;
      }
      need_base = false;
    } else if (cp == 0x200d) {
      need_base = true;  // a ZWJ joins another pictograph
    } else if (cp == 0x20e3) {
      saw_pictograph = true;  // completes a keycap
    } else if (!IsModifier(cp) && !(IsPictograph(cp) && cp >= 0x1f1e6 && cp <= 0x1f1ff)) {
      return false;  // only modifiers follow a base (and a second regional indicator, a flag)
    }
  }
  return saw_pictograph && !need_base;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool IsEmote(std::string_view token) {
  if (token.empty()) return false;
  return IsShortcode(token) || IsEmojiSequence(token);
}

bool IsEmoteOnly(std::string_view text) {
  size_t i = 0, tokens = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i == start) break;
    if (!IsEmote(text.substr(start, i - start))) return false;
    ++tokens;
  }
  return tokens > 0;
}

}  // namespace roomcast::chat
