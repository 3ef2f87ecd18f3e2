// QueryParam and ParseDecimal over arbitrary bytes. A value found decodes to something that,
// percent-encoded again, is found again with the same value (decode(encode(x)) == x), and a
// failed lookup leaves the output untouched. ParseDecimal agrees with a plain reference.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/http_parser.h"

using roomcast::fuzz::ByteTaker;

namespace {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The reference: 1..19 ASCII digits, nothing else.
bool ReferenceDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteTaker take(data, size);
  const size_t key_len = take.Byte() % 16;
  const std::string_view rest = take.Rest();
  const std::string_view key = rest.substr(0, key_len);
  const std::string_view query = rest.substr(std::min(key_len, rest.size()));

  std::string value = "untouched";
  if (roomcast::http::QueryParam(query, key, &value)) {
    const std::string again_query = "x=1&" + PercentEncode(key) + "=" + PercentEncode(value);
    std::string again;
    FUZZ_CHECK(key == "x" || roomcast::http::QueryParam(again_query, key, &again));
    FUZZ_CHECK(key == "x" || again == value);
    FUZZ_CHECK(value.size() <= query.size());
  } else {
    FUZZ_CHECK(value == "untouched");
  }

  uint64_t n = 7, ref = 7;
  const bool ok = roomcast::http::ParseDecimal(query, &n);
  FUZZ_CHECK(ok == ReferenceDecimal(query, &ref));
  if (ok) {
    FUZZ_CHECK(n == ref);
    uint64_t back = 0;
    FUZZ_CHECK(roomcast::http::ParseDecimal(std::to_string(n), &back) && back == n);
  } else {
    FUZZ_CHECK(n == 7);
  }
  return 0;
}
