#include "base/json_writer.h"

#include <array>
#include <charconv>

namespace roomcast::json {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Bytes that cannot appear raw in a JSON string, plus 0xE2, the lead byte of U+2028/U+2029
// (which only need escaping when the next two bytes are 80 A8 or 80 A9).
constexpr std::array<bool, 256> MakeSpecialTable() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  table[0xE2] = true;
  return table;
}
constexpr std::array<bool, 256> kSpecial = MakeSpecialTable();

}  // namespace

void AppendString(std::string* out, std::string_view s) {
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (!kSpecial[b]) continue;
    if (b == 0xE2) {
      // U+2028 and U+2029 are legal JSON but end a line in JavaScript source (<script> blocks).
      const bool line_separator = i + 2 < s.size() && static_cast<uint8_t>(s[i + 1]) == 0x80 &&
                                  (static_cast<uint8_t>(s[i + 2]) & 0xFE) == 0xA8;
      if (!line_separator) continue;
      out->append(s.data() + run_start, i - run_start);
      out->append(static_cast<uint8_t>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
      i += 2;
      run_start = i + 1;
      continue;
    }
    out->append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (b) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        const char escape[6] = {'\\', 'u', '0', '0', kHexDigits[b >> 4], kHexDigits[b & 0xF]};
        out->append(escape, sizeof(escape));
      }
    }
  }
  out->append(s.data() + run_start, s.size() - run_start);
  out->push_back('"');
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, result.ptr);
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, result.ptr);
}

}  // namespace roomcast::json
