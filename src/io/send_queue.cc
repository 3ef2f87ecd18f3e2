// The send-queue records (send_queue.h). Loop thread only.
#include "send_queue.h"

#include <algorithm>

namespace roomcast::io {

SendQueues::~SendQueues() {
  while (free_ops_) {
    SendOp* n = free_ops_->next_free;
    delete free_ops_;
    free_ops_ = n;
  }
  while (free_refs_) {
    SendRef* n = free_refs_->next;
    delete free_refs_;
    free_refs_ = n;
  }
}

// A private buffer (only this queue holds it), untagged (a reply, not a room batch) and not
// handed to the kernel yet can take more bytes at its end: a client that asks without reading
// then costs its bytes, not a buffer and a queue record per reply (a ping flood held about 100
// bytes of records per 2-byte pong: 107 MB for a 2 MiB queue).
bool SendQueues::AppendToTail(Conn* c, std::string_view bytes) {
  SendRef* t = c->tail;
  if (t == nullptr || t->buf->refs != 1 || t->buf->tag_first != 0 || t->buf->tag_last != 0) {
    return false;
  }
  if (t->buf->bytes.size() + bytes.size() > kCoalesceBytes) return false;
  if (c->flags & kSending) {  // the kernel holds the first inflight_refs records
    const SendRef* r = c->head;
    for (uint16_t i = 0; i < c->inflight_refs && r; ++i, r = r->next) {
      if (r == t) return false;
    }
  }
  t->buf->bytes.append(bytes);
  return true;
}

void SendQueues::ConsumeSent(Conn* c, uint32_t bytes) {
  c->queued -= std::min(c->queued, bytes);
  while (bytes > 0 && c->head) {
    SendRef* r = c->head;
    const uint32_t avail = static_cast<uint32_t>(r->buf->bytes.size() - r->off);
    if (bytes < avail) {
      r->off += bytes;  // a partial send: the rest goes next time
      break;
    }
    bytes -= avail;
    c->head = r->next;
    if (!c->head) c->tail = nullptr;
    r->buf->Unref();
    FreeRef(r);
  }
}

// Drops queued references that the kernel does not hold (all of them when nothing is in flight).
size_t SendQueues::Drop(Conn* c, uint64_t* first_tag, uint64_t* last_tag, bool tagged_only,
                        uint32_t* kept_unsent) {
  if (first_tag) *first_tag = 0;
  if (last_tag) *last_tag = 0;
  if (kept_unsent) *kept_unsent = 0;
  SendRef** link = &c->head;
  SendRef* keep_tail = nullptr;
  if (c->flags & kSending) {
    for (uint16_t i = 0; i < c->inflight_refs && *link; ++i) {
      keep_tail = *link;
      link = &(*link)->next;
    }
  }
  size_t dropped = 0;
  SendRef* r = *link;
  *link = nullptr;
  while (r) {
    SendRef* next = r->next;
    const SharedBuf* b = r->buf;
    if (tagged_only && b->tag_first == 0 && b->tag_last == 0) {
      // Not a batch (an ack, an error, a reply): it stays, in order.
      if (kept_unsent) *kept_unsent += static_cast<uint32_t>(b->bytes.size() - r->off);
      r->next = nullptr;
      *link = r;
      link = &r->next;
      keep_tail = r;
      r = next;
      continue;
    }
    dropped += b->bytes.size() - r->off;
    if (b->tag_first && first_tag && (*first_tag == 0 || b->tag_first < *first_tag)) {
      *first_tag = b->tag_first;
    }
    if (b->tag_last && last_tag && b->tag_last > *last_tag) *last_tag = b->tag_last;
    r->buf->Unref();
    FreeRef(r);
    r = next;
  }
  c->tail = keep_tail;
  if (!keep_tail) c->head = nullptr;
  c->queued -= std::min<uint32_t>(c->queued, static_cast<uint32_t>(dropped));
  return dropped;
}

}  // namespace roomcast::io
