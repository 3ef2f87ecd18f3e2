// The per-room batch: every message that reached a room replica since its last flush, encoded
// ONCE as ready WebSocket text frames in one buffer that every local viewer then shares. Server
// frames are unmasked, so the bytes are the same for every viewer. Shard thread only (the writer).
#pragma once

#include <span>
#include <string>

#include "roomcast/room_owner.h"
#include "roomcast/ws_frame.h"

namespace roomcast::server {

// Appends the frames of msgs, in order, to *out.
void EncodeBatch(ws::FrameWriter& writer, std::span<const room::SequencedMsg> msgs, std::string* out);

}  // namespace roomcast::server
