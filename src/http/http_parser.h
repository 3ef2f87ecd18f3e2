// HTTP/1.1 request-head parser: strict, zero-copy, bounded.
//
// Parses one request head (request line + headers + blank line) out of a byte buffer without
// copying: every string_view in Request points into the caller's buffer, so the Request is valid
// only while that buffer is. It knows nothing of sockets, rooms or WebSocket; any shard may call
// it. Never throws; never reads past the buffer it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace roomcast::http {

inline constexpr uint32_t kMaxHeadersHardCap = 100;

struct ParseLimits {
  size_t max_head_bytes = 8192;  // request line + headers + CRLFCRLF
  uint32_t max_headers = 64;     // at most kMaxHeadersHardCap
};

struct Header {
  std::string_view name;
  std::string_view value;  // leading/trailing spaces and tabs trimmed
};

struct Request {
  std::string_view method;  // e.g. "GET"
  std::string_view target;  // raw request-target, e.g. "/ws?room=a"
  std::string_view path;    // target before '?'
  std::string_view query;   // target after '?', without it ("" when none)
  int version_minor = 1;    // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  Header headers[kMaxHeadersHardCap];
  uint32_t header_count = 0;
  size_t head_bytes = 0;        // length of the head including the final CRLFCRLF
  uint64_t content_length = 0;  // 0 when absent
  bool keep_alive = true;       // from version and Connection header

  // Case-insensitive header lookup; first match, or empty view with found=false.
  [[nodiscard]] std::string_view Find(std::string_view name, bool* found = nullptr) const;
  // True when a comma-separated header (e.g. Connection) contains token, case-insensitive.
  [[nodiscard]] bool HeaderHasToken(std::string_view name, std::string_view token) const;
};

enum class ParseStatus {
  kComplete,        // *out filled, out->head_bytes says how much was consumed
  kIncomplete,      // need more bytes (and the buffer is still under max_head_bytes)
  kBadRequest,      // malformed: answer 400
  kHeadTooLarge,    // head exceeds max_head_bytes or too many headers: answer 431
  kNotImplemented,  // Transfer-Encoding (chunked bodies are not supported): answer 501
};

// Parses the head at the start of buf. Strict: CRLF line endings (a bare LF is accepted only as
// the final line terminator), token-only method, target starting with '/', no whitespace before a
// header colon, no obsolete line folding, a single valid Content-Length.
[[nodiscard]] ParseStatus ParseRequestHead(std::string_view buf, const ParseLimits& limits,
                                           Request* out);

// Finds key in an application/x-www-form-urlencoded query and percent-decodes its value into
// *value ('+' means space). Returns false when the key is absent or its encoding is invalid.
[[nodiscard]] bool QueryParam(std::string_view query, std::string_view key, std::string* value);

// A whole decimal number of 1 to 19 digits (so it always fits uint64_t) and nothing else: query
// values, headers such as Last-Event-ID, command-line numbers.
[[nodiscard]] bool ParseDecimal(std::string_view s, uint64_t* out);

// The reason phrase for a status code ("OK", "Bad Request", ...).
[[nodiscard]] std::string_view ReasonPhrase(int status);

// A complete response: status line, Content-Type, Content-Length, Connection (keep-alive or
// close), Cache-Control: no-store, extra_headers verbatim (each line ending in CRLF), then body.
[[nodiscard]] std::string BuildResponse(int status, std::string_view content_type,
                                        std::string_view body, bool keep_alive,
                                        std::string_view extra_headers = {});

// A JSON error response {"error":"<code>","message":"<message>"} with the given status.
[[nodiscard]] std::string BuildJsonError(int status, std::string_view code,
                                         std::string_view message, bool keep_alive,
                                         std::string_view extra_headers = {});

}  // namespace roomcast::http
