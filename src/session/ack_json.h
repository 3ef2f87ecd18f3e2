// The fields of a send's ack that a WebSocket `ack` frame and an HTTP send's 200 body share
// (PROTOCOL.md, "HTTP sends answer like acks"): "seq" and "id", or for a held message
// "held":true and its id; then "masked", "duplicate" and "sampled" when they apply.
#pragma once

#include <string>

#include "base/json_writer.h"
#include "mesh/messages.h"

namespace roomcast::session {

inline void AppendAckFields(std::string* j, const mesh::AckReply& ack) {
  if (ack.held_id != 0) {
    *j += R"("held":true,"id":)";
    json::AppendUint(j, ack.held_id);
  } else {
    *j += R"("seq":)";
    json::AppendUint(j, ack.seq);
    *j += R"(,"id":)";
    json::AppendString(j, ack.id);
  }
  if (ack.masked) *j += R"(,"masked":true)";
  if (ack.duplicate) *j += R"(,"duplicate":true)";
  if (ack.sampled) *j += R"(,"sampled":true)";
}

}  // namespace roomcast::session
