// The single-shot accepts that learn their peer's address (peer_accept.h). Loop thread only.
#include "peer_accept.h"

#include "base/log.h"
#include "conn_table.h"
#include "io/shard_loop.h"
#include "submit.h"

namespace roomcast::io {

void PeerAccepts::Setup(PeerCounts* counts, int shard_id, uint32_t table_size) {
  counts_ = counts;
  shard_id_ = shard_id;
  if (counts_ == nullptr) return;
  accepts_.assign(kAddrAccepts, AddrAccept{});
  peers_.assign(table_size, PeerKey{});
}

bool PeerAccepts::Arm(io_uring* ring, int listen_fd, bool room_to_accept) {
  uint32_t armed = 0;
  for (uint32_t i = 0; i < accepts_.size(); ++i) {
    AddrAccept& a = accepts_[i];
    // Each accept in flight takes at most one slot: the backlog-sized room suffices for all.
    if (!a.armed && room_to_accept) {
      a.len = sizeof(a.addr);
      io_uring_sqe* sqe = GetSqe(ring);
      // liburing 2.3 stores file_index + 1 as given: ALLOC - 1 asks the kernel to pick a slot
      // (as io_uring_prep_multishot_accept_direct does); ALLOC itself would wrap to 0, a plain fd.
      io_uring_prep_accept_direct(sqe, listen_fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len, 0,
                                  IORING_FILE_INDEX_ALLOC - 1);
      io_uring_sqe_set_data64(sqe, PackUserData(kOpAcceptAddr, 0, i));
      a.armed = true;
    }
    if (a.armed) ++armed;
  }
  return armed == accepts_.size();
}

void PeerAccepts::Cancel(io_uring* ring) {
  for (uint32_t i = 0; i < accepts_.size(); ++i) {
    if (accepts_[i].armed) SubmitCancel(ring, PackUserData(kOpAcceptAddr, 0, i));
  }
}

bool PeerAccepts::Completed(uint32_t idx) {
  if (idx >= accepts_.size()) return false;
  accepts_[idx].armed = false;
  return true;
}

uint16_t PeerAccepts::Count(uint32_t slot, uint32_t idx, uint64_t now_ms, LoopStats* stats) {
  const AddrAccept& a = accepts_[idx];
  PeerKey key;
  if (slot >= peers_.size() || !PeerKeyFrom(a.addr, a.len, &key)) return 0;  // not IP: uncounted
  peers_[slot] = key;
  if (counts_->Acquire(key)) return kPeerCounted;
  ++stats->accept_over_peer_cap;
  ++refusals_unlogged_;
  if (refusal_logged_ms_ == 0 || now_ms >= refusal_logged_ms_ + 1000) {
    RC_WARN(shard_id_,
            "refused %llu connection(s), the last from %s: it holds %u, --max-conns-per-ip",
            static_cast<unsigned long long>(refusals_unlogged_), PeerKeyText(key).c_str(),
            counts_->Cap());
    refusals_unlogged_ = 0;
    refusal_logged_ms_ = now_ms;
  }
  return kOverPeerCap;
}

void PeerAccepts::Uncount(uint32_t slot, uint16_t conn_flags) {
  if (conn_flags & kPeerCounted) counts_->Release(peers_[slot]);
}

}  // namespace roomcast::io
