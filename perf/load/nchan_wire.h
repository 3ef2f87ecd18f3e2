// The client side of the nchan peer (nginx + nchan, perf/peers/nchan.sh): the WebSocket
// subscription request for PREFIX/sub/ROOM, the publish request (HTTP/1.1 POST PREFIX/pub/ROOM,
// the stamped text as a text/plain body, keep-alive), and a scanner of the HTTP responses that
// come back on a publisher connection, in request order (requests may be pipelined).
// nchan delivers each message body as one raw text frame (no JSON envelope), so a subscriber reads
// the stamp with ParseStampText. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "options.h"

namespace roomcast::load {

// The upgrade request of a subscription to channel `room`.
[[nodiscard]] std::string NchanSubscribeRequest(const Target& t, std::string_view room);

// Appends one publish request whose body is AppendStampText's.
void AppendNchanPublish(std::string* out, const Target& t, std::string_view room, uint64_t send_ns,
                        uint32_t pub, uint32_t counter, uint32_t text_bytes);

// One response head's facts, as ScanHttpResponse finds them.
struct HttpResponse {
  int status = 0;
  bool close = false;  // "Connection: close": the server ends the connection after it
};

enum class HttpScan { kIncomplete, kComplete, kBad };

// Looks at one whole response (head and body) at the start of buf. kComplete: *used is its length
// in bytes and *resp is filled. kIncomplete: more bytes are needed. kBad: not HTTP, or a body
// whose end cannot be found (neither Content-Length nor chunked).
[[nodiscard]] HttpScan ScanHttpResponse(std::string_view buf, HttpResponse* resp, size_t* used);

}  // namespace roomcast::load
