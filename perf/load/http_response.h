// Reading HTTP/1.1 responses off a client connection: a whole response framed by Content-Length
// or chunked encoding (nchan's publish answers, roomcast's long-poll answers), or only the head of
// a response that streams until the connection ends (roomcast's server-sent events).
// Pure functions, any thread; nothing here allocates except for a chunk-size field.
#pragma once

#include <cstddef>
#include <string_view>

namespace roomcast::load {

// One response head's facts, as the scanners find them.
struct HttpResponse {
  int status = 0;
  bool close = false;             // "Connection: close": the server ends the connection after it
  bool chunked = false;           // "Transfer-Encoding: chunked": the body is chunk-framed
  size_t body_offset = 0;         // where the body starts (the length of the head)
  std::string_view content_type;  // the value of Content-Type (a view into the scanned bytes)
};

enum class HttpScan { kIncomplete, kComplete, kBad };

// Looks at one whole response (head and body) at the start of buf. kComplete: *used is its length
// in bytes and *resp is filled. kIncomplete: more bytes are needed. kBad: not HTTP, or a body
// whose end cannot be found (neither Content-Length nor chunked).
[[nodiscard]] HttpScan ScanHttpResponse(std::string_view buf, HttpResponse* resp, size_t* used);

// Looks at the head only (up to and including the empty line). kComplete: *resp is filled and
// resp->body_offset is the head's length. kIncomplete, or kBad for a head that is not HTTP or
// longer than 16 KiB.
[[nodiscard]] HttpScan ScanResponseHead(std::string_view buf, HttpResponse* resp,
                                        long long* content_length);

// Walks the whole responses at the start of data: on_answer(resp, whole) for each, where `whole`
// is its bytes; it returns false when the connection is gone (then the walk stops and all of data
// counts as consumed). A malformed response calls on_bad(rest) and ends the walk the same way.
// Returns the bytes consumed; the caller keeps the rest for the next read.
template <class OnAnswer, class OnBad>
size_t ForEachHttpResponse(std::string_view data, OnAnswer&& on_answer, OnBad&& on_bad) {
  size_t pos = 0;
  while (pos < data.size()) {
    HttpResponse r;
    size_t used = 0;
    switch (ScanHttpResponse(data.substr(pos), &r, &used)) {
      case HttpScan::kIncomplete:
        return pos;
      case HttpScan::kBad:
        on_bad(data.substr(pos));
        return data.size();
      case HttpScan::kComplete:
        break;
    }
    const std::string_view whole = data.substr(pos, used);
    pos += used;
    if (!on_answer(r, whole)) return data.size();
  }
  return pos;
}

}  // namespace roomcast::load
