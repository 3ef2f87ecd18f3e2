#include "base/utf8.h"

#include <cstdint>
#include <cstring>

namespace roomcast::utf8 {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Chat text is mostly ASCII: check 8 bytes at a time until a non-ASCII byte shows up.
size_t SkipAscii(const uint8_t* p, size_t i, size_t n) {
  while (i + 8 <= n) {
    uint64_t word;
    std::memcpy(&word, p + i, sizeof(word));
    if ((word & kHighBits) != 0) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

bool IsValid(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (true) {
    i = SkipAscii(p, i, n);
    if (i == n) return true;
    const uint8_t lead = p[i];
    // The second byte's range depends on the lead byte (RFC 3629 section 4): this is where
    // overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
    // U+10FFFF (F4 90..BF, F5..FF) are refused.
    size_t length;
    uint8_t second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return false;  // stray continuation byte, C0/C1 overlong lead, or F5..FF
    }
    if (n - i < length) return false;  // truncated sequence
    if (p[i + 1] < second_min || p[i + 1] > second_max) return false;
    for (size_t k = 2; k < length; ++k) {
      if (!IsContinuation(p[i + k])) return false;
    }
    i += length;
  }
}

size_t CountCodePoints(std::string_view s) {
  size_t count = 0;
  for (char c : s) count += !IsContinuation(static_cast<uint8_t>(c));
  return count;
}

bool HasForbiddenControl(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = p[i];
    if ((b < 0x20 && b != '\n') || b == 0x7F) return true;
    // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
    if (b == 0xC2 && i + 1 < n && p[i + 1] <= 0x9F) return true;
  }
  return false;
}

}  // namespace roomcast::utf8
