// A stream resume's catch-up, on the viewer's shard. A WebSocket or SSE resume (`since`,
// `Last-Event-ID`) gets everything the room still keeps after its seq, however much: the owner
// answers in pages of at most --max-history-request (JoinReply::more), counting nobody, and the
// viewer's shard asks for the next page only when the connection has drained enough for it
// (PageFits), with one page in flight per connection at most. The owner counts the viewer only
// with the answer that reaches the head; from then on it is an ordinary live viewer (the replica
// seam: what was forwarded before that answer is in it, what comes after follows it).
//
// While catching up the session stays kWsJoining / kSseJoining; its record here holds one
// reference on the room's replica (Replica::joining), so that a send from the viewer meanwhile
// still names its room, and each page request holds one more until answered. A viewer that
// leaves drops its record (OnClosed) and the answer in flight finds it gone: nothing is left
// counted at the owner, nothing held on the replica. Shard thread only.
#pragma once

#include <cstdint>
#include <string>

namespace roomcast::session {

struct CatchUp {
  uint32_t gen = 0;              // the session's generation (a reused slot is another viewer)
  uint32_t replica = 0;          // held (Replica::joining) while the record exists
  std::string epoch;             // the owner's, from its last answer
  uint64_t last = 0;             // every seq up to here was queued or covered by a gap
  uint64_t prio_sent_upto = 0;   // every priority event up to here was queued
  uint32_t last_page_bytes = 0;  // the size of the last page queued
  bool in_flight = false;        // a page request is on its way to the owner
};

// Whether the next page may be asked for now: none in flight, and the connection's send queue
// is empty or has room under the bound for another page as big as the last one. The same rule
// as a room batch (FanOutBatch): what is queued stays within about max_queue_bytes plus a page.
[[nodiscard]] inline bool PageFits(const CatchUp& cu, uint32_t queued, uint32_t max_queue_bytes) {
  if (cu.in_flight) return false;
  return queued == 0 || static_cast<uint64_t>(queued) + cu.last_page_bytes <=
                            static_cast<uint64_t>(max_queue_bytes);
}

}  // namespace roomcast::session
