// The per-room batch: every message that reached a room replica since its last flush, encoded
// ONCE per stream framing (WebSocket text frames, or SSE events) in one buffer, which every local
// viewer of that framing then shares (server frames are unmasked, so the bytes are the same for
// every viewer). A viewer whose send queue is
// over its bound skips ahead with a gap notice, or is closed: a room never waits for its slowest
// viewer. Shard thread only (the writer and the queues are the shard's).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/config.h"
#include "base/shared_buf.h"
#include "room/room_owner.h"
#include "room/room_replica.h"
#include "ws/deflate.h"
#include "ws/ws_frame.h"

namespace roomcast::room {

// What the batcher needs from the transport: the viewers' send queues.
class ViewerQueues {
 public:
  virtual uint32_t QueuedBytes(ViewerId v) = 0;
  virtual void Enqueue(ViewerId v, SharedBuf* buf) = 0;  // takes its own reference
  // Drops the batches the kernel does not hold yet (acks and replies stay); reports the seq range
  // the dropped buffers carried.
  // Returns the bytes it had to keep that the kernel does not hold yet.
  virtual uint32_t DropUnsent(ViewerId v, uint64_t* first_seq, uint64_t* last_seq) = 0;
  virtual void CloseSlow(ViewerId v) = 0;

 protected:
  ~ViewerQueues() = default;
};

// How a stream viewer receives objects.
enum class Framing { kWebSocket, kSse };

struct FanoutResult {
  uint64_t delivered = 0;  // viewers that got the batch
  uint64_t skipped = 0;    // viewers that skipped ahead with a gap
  uint64_t closed = 0;     // viewers closed for being slow
  uint64_t bytes = 0;      // size of the shared batch buffer
  bool twin = false;       // a compressed twin was built (DeflateLane)
};

// The WebSocket viewers that negotiated permessage-deflate, and the shard's compressor. Their
// batch is the compressed twin of the plain one (ws::DeflateFrames: built once, from the plain
// bytes, and shared by all of them), or the plain one itself when no frame was worth
// compressing. Gap notices to them stay plain (RSV1 clear is valid on such a connection).
struct DeflateLane {
  std::span<const ViewerId> viewers;
  ws::SharedDeflater* deflater = nullptr;
};

// Appends the frames (or events) of msgs to *out: priority events first, then ordinary ones,
// each part in seq order. An SSE priority event moved ahead of an ordinary one with a lower seq
// carries no `id:`, so that a stream cut between them never resumes past the ordinary one.
// SSE events with seq <= no_id_upto carry no id either (those replayed after a gap event whose
// id is later: an id never goes backwards), nor do those with seq > id_upto (priority events
// sent with a catch-up page, ahead of ordinary events still to come).
// SSE ids name the room's epoch ("SEQ:EPOCH", see sse::AppendEvent).
void EncodeBatch(ws::FrameWriter& writer, Framing framing, std::span<const SequencedMsg> msgs,
                 std::string* out, std::string_view epoch, uint64_t no_id_upto = 0,
                 uint64_t id_upto = UINT64_MAX);

// The SSE event name of an event: "msg", "retract", or "gap" for seqs lost to a damaged log.
[[nodiscard]] inline std::string_view EventType(const SequencedMsg& m) {
  return m.Retract() ? "retract" : m.Lost() ? "gap" : "msg";
}

// Appends one JSON object as a frame or an event: event name `type`, SSE id `id` (with the
// room's epoch) when non-zero.
void EncodeObject(ws::FrameWriter& writer, Framing framing, std::string_view type, uint64_t id,
                  std::string_view json, std::string* out, std::string_view epoch);

// Builds the batch of msgs once and queues it on every viewer, applying the slow-viewer policy.
// A viewer that skips ahead gets a gap notice followed by the priority events inside the gap
// (from recent_prio, the room's recent priority events on this shard, this batch's included):
// the priority lane is never dropped. `deflate` (WebSocket only): viewers that get the
// compressed twin instead, under the same policy.
FanoutResult FanOutBatch(ws::FrameWriter& writer, Framing framing, std::string_view room,
                         std::string_view epoch, std::span<const SequencedMsg> msgs,
                         std::span<const SequencedMsg> recent_prio,
                         std::span<const ViewerId> viewers, SlowPolicy policy,
                         uint32_t max_queue_bytes, ViewerQueues& queues, DeflateLane deflate = {});

}  // namespace roomcast::room
