// The loop's connection records, indexed by fixed-file slot, and the send-queue records they
// point at. Records are allocated in chunks as slots are first used. Loop thread only.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/shared_buf.h"

namespace roomcast::io {

inline constexpr uint32_t kConnChunk = 1024;  // connection records are allocated in chunks
inline constexpr uint32_t kMaxIov = 16;

// One queued buffer of a connection: bytes from off to the end go out.
struct SendRef {
  SharedBuf* buf;
  uint32_t off;
  SendRef* next;
};

// A vectored send in flight (the kernel reads mh and iov until it completes).
struct SendOp {
  msghdr mh;
  iovec iov[kMaxIov];
  SendOp* next_free;
};

// Connection flags.
enum : uint16_t {
  kOpen = 1 << 0,         // accepted and not yet closed
  kRecvArmed = 1 << 1,    // a multishot receive is outstanding
  kSending = 1 << 2,      // one send is in flight
  kSendPending = 1 << 3,  // listed in dirty, to be sent before sleeping
  kClosing = 1 << 4,      // a close was decided
  kGraceful = 1 << 5,     // ...gracefully: flush, half-close, wait for the peer
  kWrShut = 1 << 6,       // the write side was shut down
  kCloseSubmitted = 1 << 7,
  kRecvPaused = 1 << 8,  // receive stopped for lack of buffers; re-armed later
  kRdShut = 1 << 9,      // the read side was shut down (ends the multishot receive)
  // A SHUTDOWN names the slot and is still with the kernel: the slot must not be closed (and so
  // reused by accept) until it completes, or it would shut down the next connection there. Each
  // kind is submitted at most once per connection (kWrShut / kRdShut guard them).
  kShutWrInFlight = 1 << 10,
  kShutRdWrInFlight = 1 << 11,
  kPeerCounted = 1 << 12,  // counted in peer_counts under its slot's address: uncounted when closed
  kOverPeerCap = 1 << 13,  // accepted while its address held the cap (not counted)
};

// A fixed-size connection record (40 bytes), indexed by fixed-file slot.
struct Conn {
  uint32_t gen = 0;
  uint16_t flags = 0;
  uint16_t inflight_refs = 0;  // queue entries handed to the kernel by the send in flight
  uint32_t queued = 0;         // bytes queued, in flight included
  uint32_t inflight_bytes = 0;
  SendRef* head = nullptr;
  SendRef* tail = nullptr;
  SendOp* op = nullptr;
};

class ConnTable {
 public:
  // The record of slot, allocated (zeroed) on first use.
  Conn* Get(uint32_t slot) {
    const uint32_t chunk = slot / kConnChunk;
    if (chunk >= chunks_.size()) chunks_.resize(chunk + 1);
    if (!chunks_[chunk]) chunks_[chunk] = std::make_unique<Conn[]>(kConnChunk);
    return &chunks_[chunk][slot % kConnChunk];
  }
  // The record of slot, or null when its chunk was never used.
  const Conn* Find(uint32_t slot) const {
    const uint32_t chunk = slot / kConnChunk;
    if (chunk >= chunks_.size() || !chunks_[chunk]) return nullptr;
    return &chunks_[chunk][slot % kConnChunk];
  }
  // Calls fn(Conn*) on every allocated record (chunks are allocated on first use, so some may
  // be missing).
  template <typename Fn>
  void ForEachAllocated(Fn fn) {
    for (auto& chunk : chunks_) {
      if (!chunk) continue;
      for (uint32_t i = 0; i < kConnChunk; ++i) fn(&chunk[i]);
    }
  }

 private:
  std::vector<std::unique_ptr<Conn[]>> chunks_;
};

}  // namespace roomcast::io
