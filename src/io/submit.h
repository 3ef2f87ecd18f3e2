// How every part of the loop submits to its ring: each op tagged in user_data (op, connection
// generation, slot), and a submission entry that is never refused. Loop thread only.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace roomcast::io {

// user_data: op (8 bits) | connection generation (24 bits) | fixed-file slot (32 bits).
enum Op : uint8_t {
  kOpAccept = 1,
  kOpRecv,
  kOpSend,
  kOpShutdownWr,    // SHUT_WR of a graceful close
  kOpShutdownRdWr,  // SHUT_RDWR that ends the receive of an abortive close
  kOpClose,
  kOpWake,
  kOpMsgSent,
  kOpEvent,
  kOpCancel,
  kOpFile,        // a regular-file write or fdatasync for the handler (slot = the handler's token)
  kOpAcceptAddr,  // a single-shot accept with its peer's address (slot = its PeerAccepts index)
  kOpSocket,      // the direct socket of a Connect (slot = the pending connect's index)
  kOpConnect,     // its connect (gen = the pending connect's index, slot = the fixed-file slot)
  kOpConnectClose,  // the close of a socket whose connect failed (slot = pending index)
};

inline uint64_t PackUserData(Op op, uint32_t gen, uint32_t slot) {
  return (static_cast<uint64_t>(op) << 56) | (static_cast<uint64_t>(gen & 0xFFFFFF) << 32) | slot;
}
inline Op UserDataOp(uint64_t ud) { return static_cast<Op>(ud >> 56); }
inline uint32_t UserDataGen(uint64_t ud) { return static_cast<uint32_t>(ud >> 32) & 0xFFFFFF; }
inline uint32_t UserDataSlot(uint64_t ud) { return static_cast<uint32_t>(ud); }

// A free submission entry; when the queue is full it is handed to the kernel first.
inline io_uring_sqe* GetSqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  while (sqe == nullptr) {
    io_uring_submit(ring);  // the submission queue is full: hand it to the kernel and retry
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

// Cancels the op(s) tagged ud; the cancel's own completion is ignored (kOpCancel).
inline void SubmitCancel(io_uring* ring, uint64_t ud) {
  io_uring_sqe* sqe = GetSqe(ring);
  io_uring_prep_cancel64(sqe, ud, 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpCancel, 0, 0));
}

}  // namespace roomcast::io
