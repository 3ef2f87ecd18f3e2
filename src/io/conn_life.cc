// A connection's life in the loop: accepts into the fixed-file table (multishot, or the
// address-learning ones of peer_accept.h), connected outgoing sockets, multishot receive from the
// provided buffer ring, and the close path. Loop thread only.
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "loop_impl.h"

namespace roomcast::io {

// A multishot accept keeps taking connections from the listen backlog until it is empty, before
// a cancel can land. So the table has room for a whole backlog beyond the accept pause point,
// and accepting pauses while that room is not free: no accept can then find the table full
// (which would fail with ENFILE and make the kernel drop that connection).
bool Loop::Impl::RoomToAccept() const {
  return loop->live_ + static_cast<uint32_t>(loop->opts_.listen_backlog) + kAcceptReserve <
         table_size;
}

void Loop::Impl::ArmAccept() {
  if (accept_armed || accept_stopped || listen_fd < 0) return;
  if (loop->now_ms_ < accept_retry_at) return;  // backing off after an error; see OnTurn
  if (peer_accepts.Enabled()) {
    accept_armed = peer_accepts.Arm(&ring, listen_fd, RoomToAccept());
    return;
  }
  if (!RoomToAccept()) return;  // resumed by OnCloseDone
  io_uring_sqe* sqe = GetSqe(&ring);
  // No SOCK_CLOEXEC: it is invalid for direct descriptors.
  io_uring_prep_multishot_accept_direct(sqe, listen_fd, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpAccept, 0, 0));
  accept_armed = true;
}

void Loop::StopAccepting() {
  if (impl_->accept_stopped) return;
  impl_->accept_stopped = true;
  if (impl_->peer_accepts.Enabled()) {
    impl_->peer_accepts.Cancel(&impl_->ring);
  } else if (impl_->accept_armed) {
    SubmitCancel(&impl_->ring, PackUserData(kOpAccept, 0, 0));
  }
  if (impl_->listen_fd >= 0) {
    // Closing our listener makes the kernel send this shard's share of new connections to the
    // other shards' listeners (if they still accept).
    shutdown(impl_->listen_fd, SHUT_RD);
  }
}

void Loop::Impl::OnAcceptDone(const io_uring_cqe* cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    accept_armed = false;
    accept_cancelling = false;
  }
  if (cqe->res < 0) {
    if (cqe->res == -ENFILE) ++loop->stats_.accept_refused_full;
    // -ECANCELED after StopAccepting or when the table is nearly full. Any other error ends the
    // multishot accept: try again a little later rather than spin on a persistent failure.
    if (cqe->res != -ECANCELED && !accept_armed) {
      ++loop->stats_.accept_errors;
      accept_retry_at = loop->now_ms_ + 100;
    }
  } else {
    OpenConn(static_cast<uint32_t>(cqe->res));
  }
  if (!accept_armed) {
    ArmAccept();
  } else if (!accept_cancelling && !RoomToAccept()) {
    // Pause accepting; the connections it still takes fit in the backlog-sized room left.
    SubmitCancel(&ring, PackUserData(kOpAccept, 0, 0));
    accept_cancelling = true;
  }
}

void Loop::Impl::OnAddrAcceptDone(uint32_t idx, const io_uring_cqe* cqe) {
  if (!peer_accepts.Completed(idx)) return;
  accept_armed = false;
  if (cqe->res < 0) {
    if (cqe->res == -ENFILE) ++loop->stats_.accept_refused_full;
    if (cqe->res != -ECANCELED) {
      ++loop->stats_.accept_errors;
      accept_retry_at = loop->now_ms_ + 100;  // as for the multishot accept: no spinning
    }
  } else {
    const uint32_t slot = static_cast<uint32_t>(cqe->res);
    Conn* c = conns.Get(slot);
    c->flags |= peer_accepts.Count(slot, idx, loop->now_ms_, &loop->stats_);
    OpenConn(slot);
  }
  ArmAccept();
}

// Starts the life of an accepted connection; the address is counted first when peers are.
void Loop::Impl::OpenConn(uint32_t slot) {
  Conn* c = conns.Get(slot);
  c->flags |= kOpen;
  c->queued = 0;
  c->inflight_refs = 0;
  c->inflight_bytes = 0;
  ++loop->live_;
  ++loop->stats_.accepted;
  ArmRecv(slot);
  loop->handler_->OnAccept(slot);
}

int Loop::Connect(const std::string& host, uint16_t port, uint32_t token, uint32_t timeout_ms) {
  return impl_->connects.Start(&impl_->ring, host, port, token, timeout_ms);
}

void Loop::Impl::Connected(const ConnectOutcome& outcome) {
  if (outcome.res == 0) {
    Conn* c = conns.Get(outcome.slot);
    c->flags = kOpen;
    c->queued = 0;
    c->inflight_refs = 0;
    c->inflight_bytes = 0;
    ++loop->live_;
    ArmRecv(outcome.slot);
  }
  loop->handler_->OnConnected(outcome.token, outcome.slot, outcome.res);
}

void Loop::Impl::ArmRecv(uint32_t slot) {
  Conn* c = conns.Get(slot);
  io_uring_sqe* sqe = GetSqe(&ring);
  io_uring_prep_recv_multishot(sqe, static_cast<int>(slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, PackUserData(kOpRecv, c->gen, slot));
  c->flags |= kRecvArmed;
  c->flags &= static_cast<uint16_t>(~kRecvPaused);
}

void Loop::Impl::OnRecvDone(uint32_t slot, uint32_t gen, const io_uring_cqe* cqe) {
  const bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
  const uint16_t bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  Conn* c = conns.Get(slot);
  if ((c->gen & 0xFFFFFF) != gen || !(c->flags & kOpen)) {
    if (has_buf) buffers.Return(bid);  // a late completion of an earlier connection
    return;
  }
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) c->flags &= static_cast<uint16_t>(~kRecvArmed);
  if (cqe->res > 0) {
    loop->stats_.recv_bytes += static_cast<uint64_t>(cqe->res);
    if (has_buf) {
      if (!(c->flags & kClosing)) {
        loop->handler_->OnRecv(slot, {buffers.Data(bid), static_cast<size_t>(cqe->res)});
      }
      buffers.Return(bid);
    }
    if (!more && (c->flags & kOpen) && !(c->flags & kClosing)) ArmRecv(slot);
    if (c->flags & kClosing) AdvanceClose(slot, c);
    return;
  }
  if (has_buf) buffers.Return(bid);
  if (cqe->res == -ENOBUFS) {
    // Out of provided buffers: back-pressure, not an error. Re-armed once buffers came back.
    ++loop->stats_.enobufs;
    if (!more && !(c->flags & kClosing)) {
      c->flags |= kRecvPaused;
      paused_recv.push_back(slot);
    }
    return;
  }
  // End of stream (0) or an error: the peer is gone.
  if (more) return;
  PeerGone(slot, c);
}

void Loop::Impl::RearmPausedRecvs() {
  if (paused_recv.empty()) return;
  std::vector<uint32_t> list;
  list.swap(paused_recv);
  for (uint32_t slot : list) {
    Conn* c = conns.Get(slot);
    if ((c->flags & kOpen) && (c->flags & kRecvPaused) && !(c->flags & kClosing)) ArmRecv(slot);
  }
}

void Loop::Impl::PeerGone(uint32_t slot, Conn* c) {
  if (!(c->flags & kClosing)) {
    c->flags |= kClosing;
    c->flags &= static_cast<uint16_t>(~kGraceful);
    queues.Drop(c, nullptr, nullptr);
    loop->handler_->OnPeerGone(slot);
  }
  AdvanceClose(slot, c);
}

void Loop::Close(ConnId slot, CloseMode mode) {
  Conn* c = impl_->conns.Get(slot);
  if (!(c->flags & kOpen)) return;
  if (c->flags & kClosing) {
    if (mode == CloseMode::kAbort && (c->flags & kGraceful)) {
      c->flags &= static_cast<uint16_t>(~kGraceful);
      impl_->queues.Drop(c, nullptr, nullptr);
      impl_->AdvanceClose(slot, c);
    }
    return;
  }
  c->flags |= kClosing;
  if (mode == CloseMode::kGraceful) {
    c->flags |= kGraceful;
    impl_->lingering.push_back({slot, c->gen, now_ms_ + opts_.linger_ms});
  } else {
    impl_->queues.Drop(c, nullptr, nullptr);
  }
  impl_->AdvanceClose(slot, c);
}

bool Loop::IsOpen(ConnId slot) const {
  const Conn* c = impl_->conns.Find(slot);
  return c && (c->flags & kOpen) && !(c->flags & kClosing);
}

bool Loop::OverPeerCap(ConnId slot) const {
  const Conn* c = impl_->conns.Find(slot);
  return c != nullptr && (c->flags & kOverPeerCap) && (c->flags & kOpen);
}

// Moves a closing connection one step on: flush (graceful), shut down, wait for the kernel to
// finish the receive and the send in flight, then release the slot with a direct close.
void Loop::Impl::AdvanceClose(uint32_t slot, Conn* c) {
  if (c->flags & kCloseSubmitted) return;
  if (c->flags & kGraceful) {
    if (c->head) {  // still sending what was queued
      MarkDirty(slot, c);
      return;
    }
    if (!(c->flags & kWrShut)) {
      c->flags |= kWrShut | kShutWrInFlight;
      io_uring_sqe* sqe = GetSqe(&ring);
      io_uring_prep_shutdown(sqe, static_cast<int>(slot), SHUT_WR);
      sqe->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(sqe, PackUserData(kOpShutdownWr, c->gen, slot));
    }
    if (c->flags & kRecvArmed) return;  // waiting for the peer's FIN (or the linger deadline)
  } else if (c->flags & kRecvArmed) {
    if (!(c->flags & kRdShut)) {
      c->flags |= kWrShut | kRdShut | kShutRdWrInFlight;
      io_uring_sqe* sqe = GetSqe(&ring);
      io_uring_prep_shutdown(sqe, static_cast<int>(slot), SHUT_RDWR);  // ends the receive
      sqe->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(sqe, PackUserData(kOpShutdownRdWr, c->gen, slot));
    }
    return;
  }
  if (c->flags & (kSending | kShutWrInFlight | kShutRdWrInFlight)) return;  // all ops naming it end
  c->flags |= kCloseSubmitted;
  io_uring_sqe* sqe = GetSqe(&ring);
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpClose, c->gen, slot));
}

void Loop::Impl::ExpireLingers() {
  if (lingering.empty()) return;
  const uint64_t now = loop->now_ms_;
  size_t keep = 0;
  for (size_t i = 0; i < lingering.size(); ++i) {
    Linger l = lingering[i];
    Conn* c = conns.Get(l.slot);
    if (c->gen != l.gen || !(c->flags & kOpen) || (c->flags & kCloseSubmitted)) continue;
    if (now < l.deadline) {
      lingering[keep++] = l;
      continue;
    }
    loop->Close(l.slot, CloseMode::kAbort);  // the peer never answered our FIN
  }
  lingering.resize(keep);
}

void Loop::Impl::OnShutdownDone(uint32_t slot, uint32_t gen, uint16_t in_flight_flag) {
  Conn* c = conns.Get(slot);
  if ((c->gen & 0xFFFFFF) != gen) return;  // cannot happen: the close waits for this completion
  c->flags &= static_cast<uint16_t>(~in_flight_flag);
  if ((c->flags & kOpen) && (c->flags & kClosing)) AdvanceClose(slot, c);
}

void Loop::Impl::OnCloseDone(uint32_t slot, uint32_t gen, int res) {
  (void)res;  // a failed close still frees the slot in the kernel's table
  Conn* c = conns.Get(slot);
  if ((c->gen & 0xFFFFFF) != gen) return;
  if (!RoomToAccept()) ++loop->stats_.accept_resumed;
  queues.Drop(c, nullptr, nullptr);
  peer_accepts.Uncount(slot, c->flags);
  c->flags = 0;
  ++c->gen;
  --loop->live_;
  loop->handler_->OnClosed(slot);
  if (!accept_armed) ArmAccept();
}

}  // namespace roomcast::io
