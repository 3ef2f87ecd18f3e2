// The viewer side of hot rooms (viewers.h): messages sampled out of a room's live stream still go
// to their sender's and mentioned users' viewers, and the owner's `sampled` markers go to every
// stream viewer. Shard thread only.
#include <algorithm>
#include <unordered_map>

#include "viewers.h"

namespace roomcast::session {

using room::Framing;

void Viewers::DeliverSampled(uint32_t idx) {
  room::Replica& r = replicas_.At(idx);
  // Users to find -> the pending messages each still gets (seq order: pending's).
  std::unordered_map<uint64_t, std::vector<uint32_t>> by_user;
  for (const auto& [at, tag] : r.sampled_for) {
    std::vector<uint32_t>& list = by_user[tag];
    if (list.empty() || list.back() != at) list.push_back(at);
  }
  // One pass over the room's local viewers: a big room flushes a few times a second only
  // (FlushIntervalMs), so this costs one name hash per viewer per flush.
  for (const Framing f : {Framing::kWebSocket, Framing::kSse}) {
    for (const room::ViewerId v : f == Framing::kSse ? r.sse : r.viewers) {
      auto it = by_user.find(room::UserTag(ctx_.table.UserName(v)));
      if (it == by_user.end()) continue;
      std::string bytes;
      for (const uint32_t at : it->second) {
        const room::SequencedMsg& m = r.pending[at];
        room::EncodeObject(ctx_.writer, f, room::EventType(m), m.seq, m.json, &bytes, r.epoch);
      }
      const uint32_t queued = ctx_.out.QueuedBytes(v);
      if (queued != 0 && queued + bytes.size() > ctx_.cfg.max_queue_bytes) continue;  // slow
      // Tagged with its seqs like a batch: a viewer that skips ahead may drop it.
      SharedBuf* buf = SharedBuf::Make(std::move(bytes), r.pending[it->second.front()].seq,
                                       r.pending[it->second.back()].seq);
      ctx_.out.Enqueue(v, buf);
      buf->Unref();
    }
  }
}

}  // namespace roomcast::session
