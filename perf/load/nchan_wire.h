// The client side of the nchan peer (nginx + nchan, perf/peers/nchan.sh): the WebSocket
// subscription request for PREFIX/sub/ROOM, and the two publish paths: a WebSocket publisher
// (upgrade on PREFIX/pub/ROOM, one stamped text frame per message, each answered by one
// channel-info text frame) or HTTP/1.1 POST PREFIX/pub/ROOM (the stamped text as a text/plain
// body, keep-alive; the responses come back in request order and are read with
// http_response.h).
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

// The upgrade request of a WebSocket publisher on channel `room`.
[[nodiscard]] std::string NchanPublisherRequest(const Target& t, std::string_view room);

// Whether a text frame on a WebSocket publisher is nchan's answer to a successful publish: the
// channel info ("queued messages: N\r\nlast requested: ...\r\nactive subscribers: ...").
[[nodiscard]] bool IsNchanPublishAck(std::string_view frame);

// Appends one publish request whose body is AppendStampText's.
void AppendNchanPublish(std::string* out, const Target& t, std::string_view room, uint64_t send_ns,
                        uint32_t pub, uint32_t counter, uint32_t text_bytes);

}  // namespace roomcast::load
