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

FanoutResult FanOutBatch(ws::FrameWriter& writer, Framing framing, std::string_view room,
                         std::string_view epoch, std::span<const SequencedMsg> msgs,
                         std::span<const SequencedMsg> recent_prio,
                         std::span<const ViewerId> viewers, SlowPolicy policy,
                         uint32_t max_queue_bytes, ViewerQueues& queues) {
  FanoutResult res;
  if (msgs.empty() || viewers.empty()) return res;
  const uint64_t first = msgs.front().seq;
  const uint64_t last = msgs.back().seq;
  std::string bytes;
  EncodeBatch(writer, framing, msgs, &bytes, epoch);
  SharedBuf* buf = SharedBuf::Make(std::move(bytes), first, last);
  const size_t size = buf->bytes.size();
  res.bytes = size;
  for (ViewerId v : viewers) {
    // The bound limits a backlog: an empty queue takes a batch of any size.
    const uint32_t queued = queues.QueuedBytes(v);
    if (queued == 0 || queued + size <= max_queue_bytes) {
      queues.Enqueue(v, buf);
      ++res.delivered;
      continue;
    }
    if (policy == SlowPolicy::kClose) {
      queues.CloseSlow(v);
      ++res.closed;
      continue;
    }
    // Skip ahead: drop what is still queued and say which seqs this viewer will not get.
    uint64_t dropped_first = 0, dropped_last = 0;
    if (queues.DropUnsent(v, &dropped_first, &dropped_last) > max_queue_bytes) {
      // Over the bound with what may not be dropped (its own acks and replies, e.g. a client
      // that sends without reading): skipping ahead cannot help.
      queues.CloseSlow(v);
      ++res.closed;
      continue;
    }
    const uint64_t from = dropped_first ? std::min(dropped_first, first) : first;
    std::string frame;
    EncodeObject(writer, framing, "gap", last, GapJson(room, from, last), &frame, epoch);
    // The priority events the gap covers still go out (no SSE id: the gap's id is the latest).
    for (const SequencedMsg& p : recent_prio) {
      if (p.seq >= from && p.seq <= last)
        EncodeObject(writer, framing, EventType(p), 0, p.json, &frame, epoch);
    }
    // Tagged with the range it stands for, so that a later skip over it widens the range.
    SharedBuf* g = SharedBuf::Make(std::move(frame), from, last);
    queues.Enqueue(v, g);
    g->Unref();
    ++res.skipped;
  }
  buf->Unref();
  return res;
}

}  // namespace roomcast::room
