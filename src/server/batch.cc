#include "batch.h"

#include <algorithm>

#include "roomcast/json_writer.h"

namespace roomcast::server {

void EncodeBatch(ws::FrameWriter& writer, std::span<const room::SequencedMsg> msgs,
                 std::string* out) {
  size_t total = 0;
  for (const auto& m : msgs) total += m.json.size() + ws::ServerHeaderSize(m.json.size());
  out->reserve(out->size() + total);
  for (const auto& m : msgs) writer.Append(out, ws::Opcode::kText, m.json);
}

FanoutResult FanOutBatch(ws::FrameWriter& writer, std::string_view room,
                         std::span<const room::SequencedMsg> msgs,
                         std::span<const room::ViewerId> viewers, SlowPolicy policy,
                         uint32_t max_queue_bytes, ViewerQueues& queues) {
  FanoutResult res;
  if (msgs.empty() || viewers.empty()) return res;
  const uint64_t first = msgs.front().seq;
  const uint64_t last = msgs.back().seq;
  std::string bytes;
  EncodeBatch(writer, msgs, &bytes);
  SharedBuf* buf = SharedBuf::Make(std::move(bytes), first, last);
  const size_t size = buf->bytes.size();
  res.bytes = size;
  for (room::ViewerId v : viewers) {
    if (queues.QueuedBytes(v) + size <= max_queue_bytes) {
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
    queues.DropUnsent(v, &dropped_first, &dropped_last);
    const uint64_t from = dropped_first ? std::min(dropped_first, first) : first;
    std::string gap = R"({"type":"gap","room":)";
    json::AppendString(&gap, room);
    gap += R"(,"from":)";
    json::AppendUint(&gap, from);
    gap += R"(,"to":)";
    json::AppendUint(&gap, last);
    gap += '}';
    std::string frame;
    writer.Append(&frame, ws::Opcode::kText, gap);
    // Tagged with the range it stands for, so that a later skip over it widens the range.
    SharedBuf* g = SharedBuf::Make(std::move(frame), from, last);
    queues.Enqueue(v, g);
    g->Unref();
    ++res.skipped;
  }
  buf->Unref();
  return res;
}

}  // namespace roomcast::server
