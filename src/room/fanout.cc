#include "room/fanout.h"

#include <algorithm>

#include "base/json_writer.h"
#include "sse/sse_event.h"

namespace roomcast::room {

void EncodeObject(ws::FrameWriter& writer, Framing framing, std::string_view type, uint64_t id,
                  std::string_view json, std::string* out, std::string_view epoch) {
  if (framing == Framing::kWebSocket) {
    writer.Append(out, ws::Opcode::kText, json);
  } else {
    sse::AppendEvent(out, type, id != 0, id, json, epoch);
  }
}

void EncodeBatch(ws::FrameWriter& writer, Framing framing, std::span<const SequencedMsg> msgs,
                 std::string* out, std::string_view epoch, uint64_t no_id_upto, uint64_t id_upto) {
  size_t total = 0;
  for (const auto& m : msgs) total += m.json.size() + 40;
  out->reserve(out->size() + total);
  uint64_t first_plain = 0;
  bool any_prio = false;
  for (const auto& m : msgs) {
    if (m.Prio()) {
      any_prio = true;
    } else if (first_plain == 0) {
      first_plain = m.seq;
    }
  }
  if (any_prio) {
    for (const auto& m : msgs) {
      if (!m.Prio()) continue;
      const bool moved_ahead = first_plain != 0 && first_plain < m.seq;
      const uint64_t id = moved_ahead || m.seq <= no_id_upto || m.seq > id_upto ? 0 : m.seq;
      EncodeObject(writer, framing, EventType(m), id, m.json, out, epoch);
    }
  }
  for (const auto& m : msgs) {
    if (!m.Prio()) EncodeObject(writer, framing, EventType(m), m.seq, m.json, out, epoch);
  }
}

namespace {

// What the fan-out of one batch needs besides the buffer, for every viewer list it serves.
struct BatchTarget {
  ws::FrameWriter& writer;
  Framing framing;
  std::string_view room;
  std::string_view epoch;
  std::span<const SequencedMsg> recent_prio;
  SlowPolicy policy;
  uint32_t max_queue_bytes;
  ViewerQueues& queues;
};

// Queues buf on every viewer, applying the slow-viewer policy.
void QueueOnViewers(const BatchTarget& t, SharedBuf* buf, std::span<const ViewerId> viewers,
                    FanoutResult* res) {
  const uint64_t first = buf->tag_first;
  const uint64_t last = buf->tag_last;
  const size_t size = buf->bytes.size();
  for (ViewerId v : viewers) {
    // The bound limits a backlog: an empty queue takes a batch of any size.
    const uint32_t queued = t.queues.QueuedBytes(v);
    if (queued == 0 || queued + size <= t.max_queue_bytes) {
      t.queues.Enqueue(v, buf);
      ++res->delivered;
      continue;
    }
    if (t.policy == SlowPolicy::kClose) {
      t.queues.CloseSlow(v);
      ++res->closed;
      continue;
    }
    // Skip ahead: drop what is still queued and say which seqs this viewer will not get.
    uint64_t dropped_first = 0, dropped_last = 0;
    if (t.queues.DropUnsent(v, &dropped_first, &dropped_last) > t.max_queue_bytes) {
      // Over the bound with what may not be dropped (its own acks and replies, e.g. a client
      // that sends without reading): skipping ahead cannot help.
      t.queues.CloseSlow(v);
      ++res->closed;
      continue;
    }
    const uint64_t from = dropped_first ? std::min(dropped_first, first) : first;
    std::string frame;
    EncodeObject(t.writer, t.framing, "gap", last, GapJson(t.room, from, last), &frame, t.epoch);
    // The priority events the gap covers still go out (no SSE id: the gap's id is the latest).
    for (const SequencedMsg& p : t.recent_prio) {
      if (p.seq >= from && p.seq <= last)
        EncodeObject(t.writer, t.framing, EventType(p), 0, p.json, &frame, t.epoch);
    }
    // Tagged with the range it stands for, so that a later skip over it widens the range.
    SharedBuf* g = SharedBuf::Make(std::move(frame), from, last);
    t.queues.Enqueue(v, g);
    g->Unref();
    ++res->skipped;
  }
}

}  // namespace

FanoutResult FanOutBatch(ws::FrameWriter& writer, Framing framing, std::string_view room,
                         std::string_view epoch, std::span<const SequencedMsg> msgs,
                         std::span<const SequencedMsg> recent_prio,
                         std::span<const ViewerId> viewers, SlowPolicy policy,
                         uint32_t max_queue_bytes, ViewerQueues& queues, DeflateLane deflate) {
  FanoutResult res;
  const bool compressed =
      framing == Framing::kWebSocket && deflate.deflater != nullptr && !deflate.viewers.empty();
  if (msgs.empty() || (viewers.empty() && !compressed)) return res;
  std::string bytes;
  EncodeBatch(writer, framing, msgs, &bytes, epoch);
  SharedBuf* buf = SharedBuf::Make(std::move(bytes), msgs.front().seq, msgs.back().seq);
  res.bytes = buf->bytes.size();
  const BatchTarget target{writer, framing,         room,  epoch, recent_prio,
                           policy, max_queue_bytes, queues};
  QueueOnViewers(target, buf, viewers, &res);
  if (compressed) {
    // Once per batch, never per viewer: every compressed viewer shares the twin.
    SharedBuf* twin = buf;
    std::string z;
    if (ws::DeflateFrames(buf->bytes, *deflate.deflater, &z)) {
      twin = SharedBuf::Make(std::move(z), buf->tag_first, buf->tag_last);
      res.twin = true;
    } else {
      twin->Ref();
    }
    QueueOnViewers(target, twin, deflate.viewers, &res);
    twin->Unref();
  }
  buf->Unref();
  return res;
}

}  // namespace roomcast::room
