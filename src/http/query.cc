// application/x-www-form-urlencoded lookup. Keys are compared after decoding, so "ro%6Fm=a"
// matches key "room"; the value is validated fully before *value is touched, so a failed lookup
// never leaves half-decoded data behind.
#include <cstddef>
#include <string>
#include <string_view>

#include "http/http_parser.h"

namespace roomcast::http {
namespace {

// Hex digit value, or -1.
constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one character of s at *pos ('+' -> space, %XX -> byte) and advances *pos.
// Returns false on a truncated or non-hex escape.
bool DecodeOne(std::string_view s, size_t* pos, char* out) {
  const char c = s[*pos];
  if (c == '+') {
    *out = ' ';
    ++*pos;
    return true;
  }
  if (c != '%') {
    *out = c;
    ++*pos;
    return true;
  }
  if (s.size() - *pos < 3) return false;
  const int hi = HexValue(s[*pos + 1]);
  const int lo = HexValue(s[*pos + 2]);
  if (hi < 0 || lo < 0) return false;
  *out = static_cast<char>(hi * 16 + lo);
  *pos += 3;
  return true;
}

// True when encoded decodes to exactly key. An invalid escape in a key never matches.
bool DecodedEquals(std::string_view encoded, std::string_view key) {
  size_t pos = 0;
  size_t k = 0;
  while (pos < encoded.size()) {
    char c;
    if (k == key.size() || !DecodeOne(encoded, &pos, &c) || c != key[k]) return false;
    ++k;
  }
  return k == key.size();
}

// Number of decoded bytes, or -1 when the encoding is invalid.
ptrdiff_t DecodedSize(std::string_view encoded) {
  ptrdiff_t n = 0;
  size_t pos = 0;
  char c;
  while (pos < encoded.size()) {
    if (!DecodeOne(encoded, &pos, &c)) return -1;
    ++n;
  }
  return n;
}

}  // namespace

bool QueryParam(std::string_view query, std::string_view key, std::string* value) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"

    const size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    if (!DecodedEquals(name, key)) continue;
    // "flag" without '=' is present with an empty value.
    const std::string_view encoded =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);

    // First match wins; if it is malformed the lookup fails rather than trying later pairs.
    const ptrdiff_t size = DecodedSize(encoded);
    if (size < 0) return false;
    value->clear();
    value->reserve(static_cast<size_t>(size));
    size_t pos = 0;
    char c;
    while (pos < encoded.size()) {
      (void)DecodeOne(encoded, &pos, &c);  // validated by DecodedSize above
      value->push_back(c);
    }
    return true;
  }
  return false;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  *out = v;
  return true;
}

}  // namespace roomcast::http
