// The loop's send path: per connection at most one send in flight, vectored over up to kMaxIov
// queued buffers (send_queue.h holds the records). Sends are started just before the loop sleeps
// (FlushSends), so many enqueues in one turn become one send. Loop thread only.
#include <sys/socket.h>

#include <algorithm>
#include <string_view>

#include "loop_impl.h"

namespace roomcast::io {

void Loop::Enqueue(ConnId slot, SharedBuf* buf, uint32_t off) {
  Conn* c = impl_->conns.Get(slot);
  if (!(c->flags & kOpen) || (c->flags & kWrShut) ||
      ((c->flags & kClosing) && !(c->flags & kGraceful))) {
    return;  // closing: nothing more goes out
  }
  if (off >= buf->bytes.size()) return;
  impl_->queues.Push(c, buf, off);
  impl_->MarkDirty(slot, c);
}

void Loop::EnqueueCopy(ConnId slot, std::string bytes) {
  Conn* c = impl_->conns.Get(slot);
  if ((c->flags & kOpen) && !(c->flags & (kWrShut | kClosing)) && !bytes.empty() &&
      impl_->queues.AppendToTail(c, bytes)) {
    c->queued += static_cast<uint32_t>(bytes.size());
    impl_->MarkDirty(slot, c);
    return;
  }
  SharedBuf* b = SharedBuf::Make(std::move(bytes));
  Enqueue(slot, b);
  b->Unref();
}

uint32_t Loop::QueuedBytes(ConnId slot) const {
  const Conn* c = impl_->conns.Find(slot);
  return c ? c->queued : 0;
}

size_t Loop::DropUnsent(ConnId slot, uint64_t* first_tag, uint64_t* last_tag,
                        uint32_t* kept_unsent) {
  return impl_->queues.Drop(impl_->conns.Get(slot), first_tag, last_tag, /*tagged_only=*/true,
                            kept_unsent);
}

void Loop::Impl::MarkDirty(uint32_t slot, Conn* c) {
  if (c->flags & (kSendPending | kSending)) return;  // a completion restarts a busy connection
  c->flags |= kSendPending;
  dirty.push_back(slot);
}

void Loop::Impl::FlushSends() {
  for (uint32_t slot : dirty) {
    Conn* c = conns.Get(slot);
    c->flags &= static_cast<uint16_t>(~kSendPending);
    if ((c->flags & kOpen) && !(c->flags & kSending) && c->head) StartSend(slot, c);
  }
  dirty.clear();
}

void Loop::Impl::StartSend(uint32_t slot, Conn* c) {
  io_uring_sqe* sqe = GetSqe(&ring);
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
    SendOp* op = queues.NewOp();
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

void Loop::Impl::OnSendDone(uint32_t slot, uint32_t gen, int res) {
  Conn* c = conns.Get(slot);
  if ((c->gen & 0xFFFFFF) != gen) return;  // cannot happen: a slot is freed only when idle
  c->flags &= static_cast<uint16_t>(~kSending);
  if (c->op) {
    queues.FreeOp(c->op);
    c->op = nullptr;
  }
  c->inflight_refs = 0;
  if (res <= 0) {
    queues.Drop(c, nullptr, nullptr);
    PeerGone(slot, c);
    return;
  }
  loop->stats_.send_bytes += static_cast<uint32_t>(res);
  queues.ConsumeSent(c, static_cast<uint32_t>(res));
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
