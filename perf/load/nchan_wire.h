// The client side of the nchan peer (nginx + nchan, perf/peers/nchan.sh): the WebSocket
// subscription request for PREFIX/sub/ROOM, the publish request (HTTP/1.1 POST PREFIX/pub/ROOM,
// the stamped text as a text/plain body, keep-alive), and a scanner of the HTTP responses that
// come back on a publisher connection, in request order (requests may be pipelined; they are read
// with http_response.h).
// nchan delivers each message body as one raw text frame (no JSON envelope), so a subscriber reads
// the stamp with ParseStampText. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http_response.h"
#include "options.h"

namespace roomcast::load {

// The upgrade request of a subscription to channel `room`.
[[nodiscard]] std::string NchanSubscribeRequest(const Target& t, std::string_view room);

// Appends one publish request whose body is AppendStampText's.
void AppendNchanPublish(std::string* out, const Target& t, std::string_view room, uint64_t send_ns,
                        uint32_t pub, uint32_t counter, uint32_t text_bytes);

}  // namespace roomcast::load
