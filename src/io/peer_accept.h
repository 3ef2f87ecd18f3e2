// Accepting with the peer's address, for --max-conns-per-ip (LoopOptions::peer_counts). Sockets
// are direct descriptors, so there is no fd to ask getpeername; and a multishot accept writes
// every connection's address into the same buffer, so by the time its completions are read only
// the last one is there. Instead a few single-shot accepts stay in flight, each with its own
// address buffer, each re-armed when it completes; the address of each slot's connection is kept
// until the slot is freed, to uncount it. Loop thread only.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "io/peer_counts.h"

namespace roomcast::io {

struct LoopStats;

inline constexpr uint32_t kAddrAccepts = 8;  // single-shot accepts in flight when counting peers

class PeerAccepts {
 public:
  // Sizes the accepts and the per-slot addresses; counts null: peers are not counted (nothing
  // here is used then). On the loop thread, from Loop::Init.
  void Setup(PeerCounts* counts, int shard_id, uint32_t table_size);
  [[nodiscard]] bool Enabled() const { return !accepts_.empty(); }

  // Arms every accept not in flight (when room_to_accept); true when all are in flight.
  [[nodiscard]] bool Arm(io_uring* ring, int listen_fd, bool room_to_accept);
  void Cancel(io_uring* ring);
  // Accept idx completed: it is no longer in flight. False for an index that names none.
  [[nodiscard]] bool Completed(uint32_t idx);
  // Counts the connection accepted into slot by accept idx under its address, or finds it over
  // the cap (and logs that at most once a second, with the number refused since the last line).
  // Returns the Conn flag to set: kPeerCounted, kOverPeerCap, or 0 (not an IP address).
  [[nodiscard]] uint16_t Count(uint32_t slot, uint32_t idx, uint64_t now_ms, LoopStats* stats);
  // The slot's connection is closed: uncounts it when conn_flags has kPeerCounted.
  void Uncount(uint32_t slot, uint16_t conn_flags);

 private:
  struct AddrAccept {
    sockaddr_storage addr;
    socklen_t len;
    bool armed;
  };
  PeerCounts* counts_ = nullptr;
  int shard_id_ = 0;
  std::vector<AddrAccept> accepts_;
  std::vector<PeerKey> peers_;      // by slot
  uint64_t refusals_unlogged_ = 0;  // over-cap refusals since the last log line
  uint64_t refusal_logged_ms_ = 0;
};

}  // namespace roomcast::io
