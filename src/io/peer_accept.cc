// Accepting with the peer's address, for --max-conns-per-ip (LoopOptions::peer_counts). Sockets
// are direct descriptors, so there is no fd to ask getpeername; and a multishot accept writes
// every connection's address into the same buffer, so by the time its completions are read only
// the last one is there. Instead a few single-shot accepts stay in flight, each with its own
// address buffer, each re-armed when it completes. Loop thread only.
#include <cerrno>

#include "base/log.h"
#include "loop_impl.h"

namespace roomcast::io {

void Loop::Impl::SetupPeerAccepts() {
  if (loop->opts_.peer_counts == nullptr) return;
  addr_accepts.assign(kAddrAccepts, AddrAccept{});
  peers.assign(table_size, PeerKey{});
}

void Loop::Impl::ArmAddrAccepts() {
  uint32_t armed = 0;
  for (uint32_t i = 0; i < addr_accepts.size(); ++i) {
    AddrAccept& a = addr_accepts[i];
    // Each accept in flight takes at most one slot: the backlog-sized room suffices for all.
    if (!a.armed && RoomToAccept()) {
      a.len = sizeof(a.addr);
      io_uring_sqe* sqe = GetSqe();
      // liburing 2.3 stores file_index + 1 as given: ALLOC - 1 asks the kernel to pick a slot
      // (as io_uring_prep_multishot_accept_direct does); ALLOC itself would wrap to 0, a plain fd.
      io_uring_prep_accept_direct(sqe, listen_fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len, 0,
                                  IORING_FILE_INDEX_ALLOC - 1);
      io_uring_sqe_set_data64(sqe, PackUserData(kOpAcceptAddr, 0, i));
      a.armed = true;
    }
    if (a.armed) ++armed;
  }
  accept_armed = armed == addr_accepts.size();
}

void Loop::Impl::CancelAddrAccepts() {
  for (uint32_t i = 0; i < addr_accepts.size(); ++i) {
    if (!addr_accepts[i].armed) continue;
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_cancel64(sqe, PackUserData(kOpAcceptAddr, 0, i), 0);
    io_uring_sqe_set_data64(sqe, PackUserData(kOpCancel, 0, 0));
  }
}

void Loop::Impl::OnAddrAcceptDone(uint32_t idx, const io_uring_cqe* cqe) {
  if (idx >= addr_accepts.size()) return;
  AddrAccept& a = addr_accepts[idx];
  a.armed = false;
  accept_armed = false;
  if (cqe->res < 0) {
    if (cqe->res == -ENFILE) ++loop->stats_.accept_refused_full;
    if (cqe->res != -ECANCELED) {
      ++loop->stats_.accept_errors;
      accept_retry_at = loop->now_ms_ + 100;  // as for the multishot accept: no spinning
    }
  } else {
    const uint32_t slot = static_cast<uint32_t>(cqe->res);
    CountPeer(slot, a);
    OpenConn(slot);
  }
  ArmAccept();
}

// Counts the new connection under its address, or marks it over the cap (and logs that at most
// once a second per shard, with the number refused since the last line).
void Loop::Impl::CountPeer(uint32_t slot, const AddrAccept& a) {
  Conn* c = Get(slot);
  PeerKey key;
  if (slot >= peers.size() || !PeerKeyFrom(a.addr, a.len, &key)) return;  // not IP: not counted
  peers[slot] = key;
  PeerCounts& counts = *loop->opts_.peer_counts;
  if (counts.Acquire(key)) {
    c->flags |= kPeerCounted;
    return;
  }
  c->flags |= kOverPeerCap;
  ++loop->stats_.accept_over_peer_cap;
  ++peer_refusals_unlogged;
  if (peer_refusal_logged_ms == 0 || loop->now_ms_ >= peer_refusal_logged_ms + 1000) {
    RC_WARN(loop->opts_.shard_id,
            "refused %llu connection(s), the last from %s: it holds %u, --max-conns-per-ip",
            static_cast<unsigned long long>(peer_refusals_unlogged), PeerKeyText(key).c_str(),
            counts.Cap());
    peer_refusals_unlogged = 0;
    peer_refusal_logged_ms = loop->now_ms_;
  }
}

void Loop::Impl::UncountPeer(uint32_t slot, Conn* c) {
  if (c->flags & kPeerCounted) loop->opts_.peer_counts->Release(peers[slot]);
}

bool Loop::OverPeerCap(ConnId c) const {
  const Conn* conn = impl_->Find(c);
  return conn != nullptr && (conn->flags & kOverPeerCap) && (conn->flags & kOpen);
}

}  // namespace roomcast::io
