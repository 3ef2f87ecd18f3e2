// Per-connection send queues: a singly linked list of (shared buffer, offset) references, at most
// one send in flight per connection, vectored over up to kMaxIov queued buffers. Sends are started
// just before the loop sleeps (FlushSends), so many enqueues in one turn become one send.
// Loop thread only.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "loop_impl.h"

namespace roomcast::io {

Loop::SendRef* Loop::Impl::NewRef() {
  if (free_refs) {
    SendRef* r = free_refs;
    free_refs = r->next;
    --free_ref_count;
    return r;
  }
  return new SendRef;
}

// Free records are kept for reuse up to a bound: a burst (one client's queue of a million small
// replies) must not pin its peak for the life of the process.
void Loop::Impl::FreeRef(SendRef* r) {
  if (free_ref_count >= kMaxFreeRefs) {
    delete r;
    return;
  }
  r->buf = nullptr;
  r->next = free_refs;
  free_refs = r;
  ++free_ref_count;
}

void Loop::Impl::FreeOp(SendOp* op) {
  if (free_op_count >= kMaxFreeOps) {
    delete op;
    return;
  }
  op->next_free = free_ops;
  free_ops = op;
  ++free_op_count;
}

// A private buffer (only this queue holds it), untagged (a reply, not a room batch) and not
// handed to the kernel yet can take more bytes at its end: a client that asks without reading
// then costs its bytes, not a buffer and a queue record per reply (a ping flood held about 100
// bytes of records per 2-byte pong: 107 MB for a 2 MiB queue).
bool Loop::Impl::AppendToTail(Conn* c, std::string_view bytes) {
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

void Loop::Enqueue(ConnId slot, SharedBuf* buf, uint32_t off) {
  Conn* c = impl_->Get(slot);
  if (!(c->flags & kOpen) || (c->flags & kWrShut) ||
      ((c->flags & kClosing) && !(c->flags & kGraceful))) {
    return;  // closing: nothing more goes out
  }
  if (off >= buf->bytes.size()) return;
  SendRef* r = impl_->NewRef();
  buf->Ref();
  r->buf = buf;
  r->off = off;
  r->next = nullptr;
  if (c->tail) {
    c->tail->next = r;
  } else {
    c->head = r;
  }
  c->tail = r;
  c->queued += static_cast<uint32_t>(buf->bytes.size() - off);
  impl_->MarkDirty(slot, c);
}

void Loop::EnqueueCopy(ConnId slot, std::string bytes) {
  Conn* c = impl_->Get(slot);
  if ((c->flags & kOpen) && !(c->flags & (kWrShut | kClosing)) && !bytes.empty() &&
      impl_->AppendToTail(c, bytes)) {
    c->queued += static_cast<uint32_t>(bytes.size());
    impl_->MarkDirty(slot, c);
    return;
  }
  SharedBuf* b = SharedBuf::Make(std::move(bytes));
  Enqueue(slot, b);
  b->Unref();
}

uint32_t Loop::QueuedBytes(ConnId slot) const {
  const Conn* c = impl_->Find(slot);
  return c ? c->queued : 0;
}

size_t Loop::DropUnsent(ConnId slot, uint64_t* first_tag, uint64_t* last_tag,
                        uint32_t* kept_unsent) {
  return impl_->DropQueue(impl_->Get(slot), first_tag, last_tag, /*tagged_only=*/true, kept_unsent);
}

void Loop::Impl::MarkDirty(uint32_t slot, Conn* c) {
  if (c->flags & (kSendPending | kSending)) return;  // a completion restarts a busy connection
  c->flags |= kSendPending;
  dirty.push_back(slot);
}

void Loop::Impl::FlushSends() {
  for (uint32_t slot : dirty) {
    Conn* c = Get(slot);
    c->flags &= static_cast<uint16_t>(~kSendPending);
    if ((c->flags & kOpen) && !(c->flags & kSending) && c->head) StartSend(slot, c);
  }
  dirty.clear();
}

void Loop::Impl::StartSend(uint32_t slot, Conn* c) {
  io_uring_sqe* sqe = GetSqe();
  uint32_t n = 0;
  uint32_t bytes = 0;
  const uint32_t max_iov =
      std::min<uint32_t>(loop->opts_.max_iov ? loop->opts_.max_iov : 1, kMaxIov);
  if (!c->head->next || max_iov == 1) {
    SendRef* r = c->head;
    n = 1;
    bytes = static_cast<uint32_t>(r->buf->bytes.size() - r->off);
    io_uring_prep_send(sqe, static_cast<int>(slot), r->buf->bytes.data() + r->off, bytes,
                       MSG_NOSIGNAL);
  } else {
    SendOp* op = free_ops;
    if (op) {
      free_ops = op->next_free;
      --free_op_count;
    } else {
      op = new SendOp;
    }
    for (SendRef* r = c->head; r && n < max_iov; r = r->next, ++n) {
      op->iov[n].iov_base = r->buf->bytes.data() + r->off;
      op->iov[n].iov_len = r->buf->bytes.size() - r->off;
      bytes += static_cast<uint32_t>(op->iov[n].iov_len);
    }
    op->mh = {};
    op->mh.msg_iov = op->iov;
    op->mh.msg_iovlen = n;
    c->op = op;
    io_uring_prep_sendmsg(sqe, static_cast<int>(slot), &op->mh, MSG_NOSIGNAL);
  }
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, PackUserData(kOpSend, c->gen, slot));
  c->flags |= kSending;
  c->inflight_refs = static_cast<uint16_t>(n);
  c->inflight_bytes = bytes;
  ++loop->stats_.send_calls;
}

void Loop::Impl::ConsumeSent(Conn* c, uint32_t bytes) {
  loop->stats_.send_bytes += bytes;
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
size_t Loop::Impl::DropQueue(Conn* c, uint64_t* first_tag, uint64_t* last_tag, bool tagged_only,
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

void Loop::Impl::OnSendDone(uint32_t slot, uint32_t gen, int res) {
  Conn* c = Get(slot);
  if ((c->gen & 0xFFFFFF) != gen) return;  // cannot happen: a slot is freed only when idle
  c->flags &= static_cast<uint16_t>(~kSending);
  if (c->op) {
    FreeOp(c->op);
    c->op = nullptr;
  }
  const uint16_t inflight = c->inflight_refs;
  c->inflight_refs = 0;
  if (res <= 0) {
    (void)inflight;
    DropQueue(c, nullptr, nullptr);
    PeerGone(slot, c);
    return;
  }
  ConsumeSent(c, static_cast<uint32_t>(res));
  if (c->flags & kClosing) {
    if ((c->flags & kGraceful) && c->head) {
      StartSend(slot, c);
    } else {
      AdvanceClose(slot, c);
    }
    return;
  }
  if (c->head) {
    StartSend(slot, c);
  } else {
    loop->handler_->OnSendDrained(slot);
  }
}

}  // namespace roomcast::io
