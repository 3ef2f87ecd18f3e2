// Request-head parser. Two passes over at most limits.max_head_bytes bytes: the first finds where
// the head ends (and rejects bare LFs early), the second splits and validates the lines. Nothing
// is copied; every view points into the caller's buffer. On any status other than kComplete the
// contents of *out are unspecified.
#include "http/http_parser.h"

#include <algorithm>
#include <cstring>

namespace roomcast::http {
namespace {

// Content-Length values longer than this could overflow uint64_t arithmetic in callers that add
// offsets to it; no chat request body comes anywhere near 10^18 bytes.
constexpr size_t kMaxContentLengthDigits = 18;

// RFC 7230 section 3.2.6 tchar.
constexpr bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Visible ASCII only: a space would have ended the target, and control or non-ASCII bytes in a
// target are never legitimate and only confuse whoever logs or routes on it.
bool IsValidTarget(std::string_view s) {
  if (s.empty() || s.front() != '/') return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

// field-value bytes: HTAB, SP, VCHAR and obs-text. A NUL or CR smuggled into a value must never
// reach code that treats values as C strings or echoes them into a response.
bool IsValidFieldValue(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

constexpr bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

constexpr char ToLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

bool ParseContentLength(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > kMaxContentLengthDigits) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Outcome of the first pass: where the head ends, or why it cannot be parsed yet (or ever).
struct HeadEnd {
  ParseStatus status;
  size_t head_bytes;  // valid when status == kComplete
};

// Finds the blank line that ends the head within the first max_head_bytes of buf. Every line
// must end in CRLF, except that the final blank line may be a bare LF (lenient towards clients
// that send "\r\n\n"). A bare LF anywhere else is rejected at once instead of waiting for more.
HeadEnd FindHeadEnd(std::string_view buf, size_t max_head_bytes) {
  const size_t scan_len = std::min(buf.size(), max_head_bytes);
  const char* data = buf.data();
  size_t line_start = 0;
  size_t pos = 0;
  while (pos < scan_len) {
    const void* hit = std::memchr(data + pos, '\n', scan_len - pos);
    if (hit == nullptr) break;
    const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - data);
    const bool has_cr = lf > line_start && data[lf - 1] == '\r';
    const bool empty_line = has_cr ? (lf - 1 == line_start) : (lf == line_start);
    if (!has_cr && !(empty_line && line_start > 0)) return {ParseStatus::kBadRequest, 0};
    if (empty_line) {
      // A blank line before any request line: strict, no leading empty lines are skipped.
      if (line_start == 0) return {ParseStatus::kBadRequest, 0};
      return {ParseStatus::kComplete, lf + 1};
    }
    line_start = lf + 1;
    pos = lf + 1;
  }
  // The head did not end within scan_len bytes. If the buffer already holds max_head_bytes, the
  // head can only end later, which makes it too large no matter what arrives next.
  if (buf.size() >= max_head_bytes) return {ParseStatus::kHeadTooLarge, 0};
  return {ParseStatus::kIncomplete, 0};
}

// Request line: method SP request-target SP HTTP-version, single spaces only.
ParseStatus ParseRequestLine(std::string_view line, Request* out) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return ParseStatus::kBadRequest;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return ParseStatus::kBadRequest;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || !IsValidTarget(target)) return ParseStatus::kBadRequest;
  if (version == "HTTP/1.1") {
    out->version_minor = 1;
  } else if (version == "HTTP/1.0") {
    out->version_minor = 0;
  } else {
    return ParseStatus::kBadRequest;
  }
  out->method = method;
  out->target = target;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    out->path = target;
    out->query = {};
  } else {
    out->path = target.substr(0, q);
    out->query = target.substr(q + 1);
  }
  return ParseStatus::kComplete;
}

// Strips the line terminator FindHeadEnd already validated: CRLF, or the final bare LF.
std::string_view NextLine(std::string_view* rest) {
  const size_t lf = rest->find('\n');
  std::string_view line = rest->substr(0, lf);
  rest->remove_prefix(lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::string_view Request::Find(std::string_view name, bool* found) const {
  for (uint32_t i = 0; i < header_count; ++i) {
    if (EqualsIgnoreCase(headers[i].name, name)) {
      if (found != nullptr) *found = true;
      return headers[i].value;
    }
  }
  if (found != nullptr) *found = false;
  return {};
}

bool Request::HeaderHasToken(std::string_view name, std::string_view token) const {
  if (token.empty()) return false;
  // Every header with this name counts: "Connection: a" + "Connection: close" means close.
  for (uint32_t i = 0; i < header_count; ++i) {
    if (!EqualsIgnoreCase(headers[i].name, name)) continue;
    std::string_view rest = headers[i].value;
    while (true) {
      const size_t comma = rest.find(',');
      if (EqualsIgnoreCase(TrimOws(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

ParseStatus ParseRequestHead(std::string_view buf, const ParseLimits& limits, Request* out) {
  const HeadEnd end = FindHeadEnd(buf, limits.max_head_bytes);
  if (end.status != ParseStatus::kComplete) return end.status;

  // Only scalars are reset: the header array is overwritten up to header_count, and clearing
  // 100 entries per request would be wasted work.
  out->header_count = 0;
  out->head_bytes = 0;
  out->content_length = 0;
  out->keep_alive = false;

  const uint32_t max_headers = std::min(limits.max_headers, kMaxHeadersHardCap);
  std::string_view rest = buf.substr(0, end.head_bytes);
  if (ParseStatus s = ParseRequestLine(NextLine(&rest), out); s != ParseStatus::kComplete) {
    return s;
  }

  bool have_content_length = false;
  bool have_transfer_encoding = false;
  while (true) {
    const std::string_view line = NextLine(&rest);
    if (line.empty()) break;  // the blank line FindHeadEnd found
    // obs-fold (RFC 7230 3.2.4): a continuation line is rejected, never joined.
    if (IsOws(line.front())) return ParseStatus::kBadRequest;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ParseStatus::kBadRequest;
    const std::string_view name = line.substr(0, colon);
    // A token cannot hold whitespace, so "Host : x" fails here as RFC 7230 3.2.4 demands.
    if (!IsToken(name)) return ParseStatus::kBadRequest;
    const std::string_view raw_value = line.substr(colon + 1);
    if (!IsValidFieldValue(raw_value)) return ParseStatus::kBadRequest;
    if (out->header_count >= max_headers) return ParseStatus::kHeadTooLarge;
    const std::string_view value = TrimOws(raw_value);
    out->headers[out->header_count++] = Header{name, value};

    if (EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t length = 0;
      if (!ParseContentLength(value, &length)) return ParseStatus::kBadRequest;
      // Two different lengths is the classic request-smuggling setup; equal repeats are harmless.
      if (have_content_length && length != out->content_length) return ParseStatus::kBadRequest;
      have_content_length = true;
      out->content_length = length;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      have_transfer_encoding = true;
    }
  }

  // Checked after the whole head so a malformed head is still answered 400, not 501.
  if (have_transfer_encoding) return ParseStatus::kNotImplemented;

  if (out->version_minor == 1) {
    out->keep_alive = !out->HeaderHasToken("Connection", "close");
  } else {
    out->keep_alive = out->HeaderHasToken("Connection", "keep-alive") &&
                      !out->HeaderHasToken("Connection", "close");
  }
  out->head_bytes = end.head_bytes;
  return ParseStatus::kComplete;
}

}  // namespace roomcast::http
