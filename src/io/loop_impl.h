// Private to src/io: the loop's state behind Loop's interface, and the one completion dispatcher
// that drives its parts: the connection records (conn_table.h), the receive buffers
// (buffer_ring.h), the send-queue records (send_queue.h), the address-learning accepts
// (peer_accept.h) and the outgoing connects (connect.h). None of them has a virtual call. Loop
// thread only.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>
#include <vector>

#include "buffer_ring.h"
#include "conn_table.h"
#include "connect.h"
#include "io/shard_loop.h"
#include "peer_accept.h"
#include "send_queue.h"
#include "submit.h"

namespace roomcast::io {

inline constexpr uint32_t kTableSlack = 64;    // slots beyond max_conns for accepts in flight
inline constexpr uint32_t kAcceptReserve = 8;  // accepting pauses this many slots short of full
// Completions handled in one loop turn. Between turns the shard drains its mesh rings and flushes
// due rooms, so this bounds how long a burst (e.g. a reconnect storm) can hold other rooms back.
inline constexpr unsigned kMaxCqesPerTurn = 1024;

struct Loop::Impl {
  explicit Impl(Loop* l) : loop(l) {}
  ~Impl();

  Loop* loop;
  io_uring ring{};
  bool ring_ready = false;
  uint32_t table_size = 0;
  int listen_fd = -1;
  int event_fd = -1;
  uint64_t event_value = 0;
  bool stop_seen = false;
  bool finishing = false;
  uint64_t finish_deadline = 0;
  bool accept_armed = false;
  bool accept_stopped = false;     // StopAccepting was called
  uint64_t accept_retry_at = 0;    // after an accept error, not before this time
  bool accept_cancelling = false;  // a cancel of the multishot accept is on its way
  uint64_t wake_errors = 0;

  ConnTable conns;
  BufferRing buffers;
  SendQueues queues;
  PeerAccepts peer_accepts;  // with peer_counts: used instead of the multishot accept
  PendingConnects connects;
  std::vector<uint32_t> dirty;        // connections with kSendPending
  std::vector<uint32_t> paused_recv;  // connections with kRecvPaused
  struct Linger {
    uint32_t slot;
    uint32_t gen;
    uint64_t deadline;
  };
  std::vector<Linger> lingering;

  int Setup(std::string* error);
  void Teardown();
  void ArmEventFd();
  void ReapCompletions();
  void Dispatch(const io_uring_cqe* cqe);

  // Accepting and receiving (conn_life.cc).
  void ArmAccept();
  bool RoomToAccept() const;
  void OnAcceptDone(const io_uring_cqe* cqe);
  void OnAddrAcceptDone(uint32_t idx, const io_uring_cqe* cqe);
  void OpenConn(uint32_t slot);
  void ArmRecv(uint32_t slot);
  void OnRecvDone(uint32_t slot, uint32_t gen, const io_uring_cqe* cqe);
  void RearmPausedRecvs();
  // A Connect's outcome (connect.h): a connected slot opens like an accepted one.
  void Connected(const ConnectOutcome& outcome);

  // Sending (send_path.cc).
  void MarkDirty(uint32_t slot, Conn* c);
  void FlushSends();
  void StartSend(uint32_t slot, Conn* c);
  void OnSendDone(uint32_t slot, uint32_t gen, int res);

  // Close path (conn_life.cc).
  void AdvanceClose(uint32_t slot, Conn* c);
  void PeerGone(uint32_t slot, Conn* c);
  void ExpireLingers();
  void OnShutdownDone(uint32_t slot, uint32_t gen, uint16_t in_flight_flag);
  void OnCloseDone(uint32_t slot, uint32_t gen, int res);
};

}  // namespace roomcast::io
