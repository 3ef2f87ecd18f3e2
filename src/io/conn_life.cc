// A connection's life in the loop: the listener and multishot accept into the fixed-file table,
// multishot receive from the provided buffer ring, and the close path. Loop thread only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "loop_impl.h"

namespace roomcast::io {

int Loop::Impl::SetupListener(std::string* error) {
  const LoopOptions& o = loop->opts_;
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (o.listen_host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(o.listen_port);
    if (inet_pton(AF_INET6, o.listen_host.c_str(), &a6->sin6_addr) != 1) {
      *error = "bad listen address " + o.listen_host;
      return -EINVAL;
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(o.listen_port);
    if (inet_pton(AF_INET, o.listen_host.c_str(), &a4->sin_addr) != 1) {
      *error = "bad listen address " + o.listen_host;
      return -EINVAL;
    }
    len = sizeof(sockaddr_in);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return -errno;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // One listener per shard: the kernel spreads new connections over them evenly.
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // inherited by accepted sockets
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    int e = errno;
    *error = "bind " + o.listen_host + ":" + std::to_string(o.listen_port) + ": " + strerror(e);
    close(fd);
    return -e;
  }
  if (listen(fd, o.listen_backlog) < 0) {
    int e = errno;
    *error = std::string("listen: ") + strerror(e);
    close(fd);
    return -e;
  }
  listen_fd = fd;
  return 0;
}

int Loop::Impl::SetupBufferRing(std::string* error) {
  const LoopOptions& o = loop->opts_;
  uint32_t count = o.recv_buf_count;
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) {
    *error = "recv buffer count must be a power of two up to 32768";
    return -EINVAL;
  }
  buf_ring_bytes = count * sizeof(io_uring_buf);
  void* mem =
      mmap(nullptr, buf_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *error = std::string("mmap buffer ring: ") + strerror(errno);
    return -errno;
  }
  buf_ring = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = 0;
  int rc = io_uring_register_buf_ring(&ring, &reg, 0);
  if (rc < 0) {
    *error = std::string("register buffer ring: ") + strerror(-rc);
    return rc;
  }
  buf_base_bytes = static_cast<size_t>(count) * o.recv_buf_size;
  mem = mmap(nullptr, buf_base_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *error = std::string("mmap receive buffers: ") + strerror(errno);
    return -errno;
  }
  buf_base = static_cast<uint8_t*>(mem);
  io_uring_buf_ring_init(buf_ring);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring, buf_base + static_cast<size_t>(i) * o.recv_buf_size,
                          o.recv_buf_size, static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring, static_cast<int>(count));
  return 0;
}

void Loop::Impl::FreeBufferRing() {
  if (buf_ring) munmap(buf_ring, buf_ring_bytes);
  if (buf_base) munmap(buf_base, buf_base_bytes);
  buf_ring = nullptr;
  buf_base = nullptr;
}

void Loop::Impl::ReturnBuffer(uint16_t bid) {
  const LoopOptions& o = loop->opts_;
  io_uring_buf_ring_add(buf_ring, buf_base + static_cast<size_t>(bid) * o.recv_buf_size,
                        o.recv_buf_size, bid, io_uring_buf_ring_mask(o.recv_buf_count),
                        static_cast<int>(bufs_to_return));
  ++bufs_to_return;
}

void Loop::Impl::ReturnBuffers() {
  if (bufs_to_return) io_uring_buf_ring_advance(buf_ring, static_cast<int>(bufs_to_return));
  bufs_to_return = 0;
}

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
  if (!addr_accepts.empty()) return ArmAddrAccepts();
  if (!RoomToAccept()) return;  // resumed by OnCloseDone
  io_uring_sqe* sqe = GetSqe();
  // No SOCK_CLOEXEC: it is invalid for direct descriptors.
  io_uring_prep_multishot_accept_direct(sqe, listen_fd, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpAccept, 0, 0));
  accept_armed = true;
}

void Loop::StopAccepting() {
  if (impl_->accept_stopped) return;
  impl_->accept_stopped = true;
  if (!impl_->addr_accepts.empty()) {
    impl_->CancelAddrAccepts();
  } else if (impl_->accept_armed) {
    io_uring_sqe* sqe = impl_->GetSqe();
    io_uring_prep_cancel64(sqe, PackUserData(kOpAccept, 0, 0), 0);
    io_uring_sqe_set_data64(sqe, PackUserData(kOpCancel, 0, 0));
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
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_cancel64(sqe, PackUserData(kOpAccept, 0, 0), 0);
    io_uring_sqe_set_data64(sqe, PackUserData(kOpCancel, 0, 0));
    accept_cancelling = true;
  }
}

// Starts the life of an accepted connection; the address is counted first when peers are.
void Loop::Impl::OpenConn(uint32_t slot) {
  Conn* c = Get(slot);
  c->flags |= kOpen;
  c->queued = 0;
  c->inflight_refs = 0;
  c->inflight_bytes = 0;
  ++loop->live_;
  ++loop->stats_.accepted;
  ArmRecv(slot);
  loop->handler_->OnAccept(slot);
}

void Loop::Impl::ArmRecv(uint32_t slot) {
  Conn* c = Get(slot);
  io_uring_sqe* sqe = GetSqe();
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
  Conn* c = Get(slot);
  if ((c->gen & 0xFFFFFF) != gen || !(c->flags & kOpen)) {
    if (has_buf) ReturnBuffer(bid);  // a late completion of an earlier connection
    return;
  }
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) c->flags &= static_cast<uint16_t>(~kRecvArmed);
  if (cqe->res > 0) {
    loop->stats_.recv_bytes += static_cast<uint64_t>(cqe->res);
    if (has_buf) {
      if (!(c->flags & kClosing)) {
        const uint8_t* data = buf_base + static_cast<size_t>(bid) * loop->opts_.recv_buf_size;
        loop->handler_->OnRecv(slot, {data, static_cast<size_t>(cqe->res)});
      }
      ReturnBuffer(bid);
    }
    if (!more && (c->flags & kOpen) && !(c->flags & kClosing)) ArmRecv(slot);
    if (c->flags & kClosing) AdvanceClose(slot, c);
    return;
  }
  if (has_buf) ReturnBuffer(bid);
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
    Conn* c = Get(slot);
    if ((c->flags & kOpen) && (c->flags & kRecvPaused) && !(c->flags & kClosing)) ArmRecv(slot);
  }
}

void Loop::Impl::PeerGone(uint32_t slot, Conn* c) {
  if (!(c->flags & kClosing)) {
    c->flags |= kClosing;
    c->flags &= static_cast<uint16_t>(~kGraceful);
    DropQueue(c, nullptr, nullptr);
    loop->handler_->OnPeerGone(slot);
  }
  AdvanceClose(slot, c);
}

void Loop::Close(ConnId slot, CloseMode mode) {
  Conn* c = impl_->Get(slot);
  if (!(c->flags & kOpen)) return;
  if (c->flags & kClosing) {
    if (mode == CloseMode::kAbort && (c->flags & kGraceful)) {
      c->flags &= static_cast<uint16_t>(~kGraceful);
      impl_->DropQueue(c, nullptr, nullptr);
      impl_->AdvanceClose(slot, c);
    }
    return;
  }
  c->flags |= kClosing;
  if (mode == CloseMode::kGraceful) {
    c->flags |= kGraceful;
    impl_->lingering.push_back({slot, c->gen, now_ms_ + opts_.linger_ms});
  } else {
    impl_->DropQueue(c, nullptr, nullptr);
  }
  impl_->AdvanceClose(slot, c);
}

bool Loop::IsOpen(ConnId slot) const {
  const Conn* c = impl_->Find(slot);
  return c && (c->flags & kOpen) && !(c->flags & kClosing);
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
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_shutdown(sqe, static_cast<int>(slot), SHUT_WR);
      sqe->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(sqe, PackUserData(kOpShutdownWr, c->gen, slot));
    }
    if (c->flags & kRecvArmed) return;  // waiting for the peer's FIN (or the linger deadline)
  } else if (c->flags & kRecvArmed) {
    if (!(c->flags & kRdShut)) {
      c->flags |= kWrShut | kRdShut | kShutRdWrInFlight;
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_shutdown(sqe, static_cast<int>(slot), SHUT_RDWR);  // ends the receive
      sqe->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(sqe, PackUserData(kOpShutdownRdWr, c->gen, slot));
    }
    return;
  }
  if (c->flags & (kSending | kShutWrInFlight | kShutRdWrInFlight)) return;  // all ops naming it end
  c->flags |= kCloseSubmitted;
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpClose, c->gen, slot));
}

void Loop::Impl::ExpireLingers() {
  if (lingering.empty()) return;
  const uint64_t now = loop->now_ms_;
  size_t keep = 0;
  for (size_t i = 0; i < lingering.size(); ++i) {
    Linger l = lingering[i];
    Conn* c = Get(l.slot);
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
  Conn* c = Get(slot);
  if ((c->gen & 0xFFFFFF) != gen) return;  // cannot happen: the close waits for this completion
  c->flags &= static_cast<uint16_t>(~in_flight_flag);
  if ((c->flags & kOpen) && (c->flags & kClosing)) AdvanceClose(slot, c);
}

void Loop::Impl::OnCloseDone(uint32_t slot, uint32_t gen, int res) {
  (void)res;  // a failed close still frees the slot in the kernel's table
  Conn* c = Get(slot);
  if ((c->gen & 0xFFFFFF) != gen) return;
  if (!RoomToAccept()) ++loop->stats_.accept_resumed;
  DropQueue(c, nullptr, nullptr);
  UncountPeer(slot, c);
  c->flags = 0;
  ++c->gen;
  --loop->live_;
  loop->handler_->OnClosed(slot);
  if (!accept_armed) ArmAccept();
}

}  // namespace roomcast::io
