// The per-shard io_uring event loop. It owns one ring, one listening socket (SO_REUSEPORT), a
// sparse fixed-file table that holds the shard's connections as direct descriptors, a provided
// buffer ring for multishot receives, and each connection's bounded send queue.
//
// It knows nothing of HTTP, WebSocket or rooms: bytes in, (shared) buffers out. The protocol layer
// implements LoopHandler. Every method, unless it says otherwise, must be called on the loop's own
// thread (the thread that called Run): the ring is created SINGLE_ISSUER + DEFER_TASKRUN there.
//
// Connection ids are fixed-file slots. A slot is reused only after the kernel has completed every
// operation of the previous connection (receive ended, no send in flight, close done), so a slot id
// is unambiguous between OnAccept and OnClosed.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/shared_buf.h"
#include "io/peer_counts.h"

namespace roomcast::io {

using ConnId = uint32_t;

struct LoopOptions {
  int shard_id = 0;
  int cpu = -1;  // pin to this CPU when >= 0
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 8080;
  int listen_backlog = 1024;       // the fixed-file table keeps this many slots in reserve
  uint32_t max_conns = 10000;      // connections this shard holds (table: + 64 + listen_backlog)
  uint32_t ring_entries = 4096;    // submission queue entries
  uint32_t recv_buf_size = 4096;   // one provided buffer
  uint32_t recv_buf_count = 1024;  // provided buffers (power of two)
  uint32_t max_iov = 16;           // iovecs in one vectored send
  uint32_t linger_ms = 2000;       // a graceful close waits this long for the peer's FIN
  // --max-conns-per-ip: when set (shared by every shard's loop), each accept learns its peer's
  // address (single-shot accepts, a few in flight, each with its own address buffer, instead of
  // one multishot accept that reports none) and counts it here; OverPeerCap names the
  // connections accepted while their address already held the cap.
  PeerCounts* peer_counts = nullptr;
};

// Implemented by the protocol layer; called on the loop thread only.
class LoopHandler {
 public:
  virtual void OnAccept(ConnId c) = 0;
  virtual void OnRecv(ConnId c, std::span<const uint8_t> data) = 0;
  // The peer closed or the connection failed; the loop is already closing it.
  virtual void OnPeerGone(ConnId c) = 0;
  // The send queue of c became empty.
  virtual void OnSendDrained(ConnId c) = 0;
  // The slot is free; no further callback names c until a new OnAccept.
  virtual void OnClosed(ConnId c) = 0;
  // Called once per loop turn after completions were handled: drain inbound mesh rings here.
  virtual void OnTurn(uint64_t now_ms) = 0;
  // Called just before the loop would sleep: flush batches and outbound rings. Returns the
  // longest the loop may sleep, in ms (the loop also wakes for I/O and peer wake-ups).
  virtual uint32_t BeforeSleep(uint64_t now_ms) = 0;
  // Called after the sleeping flag is published: true when work arrived meanwhile.
  virtual bool HasInbound() = 0;
  // A stop was requested (from any thread, through RequestStop).
  virtual void OnStopRequested() = 0;
  // A SubmitFileWrite / SubmitFileSync completed: res as io_uring gives it (bytes or -errno).
  virtual void OnFileDone(uint32_t token, int res) {
    (void)token;
    (void)res;
  }
  // A Connect finished: res 0 and c the new connection (from now on it is like an accepted one:
  // OnRecv, OnPeerGone, OnSendDrained, OnClosed), or res -errno and no connection.
  virtual void OnConnected(uint32_t token, ConnId c, int res) {
    (void)token;
    (void)c;
    (void)res;
  }

 protected:
  ~LoopHandler() = default;
};

enum class CloseMode {
  kGraceful,  // send what is queued, half-close, wait (linger_ms) for the peer, then close
  kAbort,     // drop what is queued and close now
};

struct LoopStats {
  uint64_t accepted = 0;
  uint64_t accept_refused_full = 0;   // accepts that failed with ENFILE (table full)
  uint64_t accept_resumed = 0;        // slots freed while accepting was paused for a full table
  uint64_t accept_errors = 0;         // accept failures (retried after a short pause)
  uint64_t accept_over_peer_cap = 0;  // accepted while the address held --max-conns-per-ip
  uint64_t recv_bytes = 0;
  uint64_t send_calls = 0;
  uint64_t send_bytes = 0;
  uint64_t enobufs = 0;       // receives paused for lack of provided buffers
  uint64_t wakeups_sent = 0;  // MSG_RING wake-ups sent to peers
  uint64_t loop_turns = 0;
};

class Loop {
 public:
  Loop(const LoopOptions& opts, LoopHandler* handler);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Creates the ring, the tables and the listener. Call on the loop thread. Returns 0 or -errno
  // and fills *error.
  [[nodiscard]] int Init(std::string* error);
  // Runs until a stop was requested and Finish() was called by the handler.
  void Run();
  // The handler calls this when it has wound down (after OnStopRequested): Run returns once every
  // connection is closed or deadline_ms passed.
  void Finish(uint64_t deadline_ms);

  // Any thread.
  void RequestStop();
  [[nodiscard]] int RingFd() const { return ring_fd_; }
  // Any thread: marks the loop awake; returns true if it was asleep (the caller must wake it).
  [[nodiscard]] bool ClaimSleeper();

  // Queues a wake-up of another loop (by its ring fd); sent with this loop's next submit.
  void WakePeer(int peer_ring_fd);

  // Send queue. Enqueue takes a new reference on buf; bytes from off to the end are sent.
  void Enqueue(ConnId c, SharedBuf* buf, uint32_t off = 0);
  void EnqueueCopy(ConnId c, std::string bytes);
  [[nodiscard]] uint32_t QueuedBytes(ConnId c) const;
  // Drops every queued buffer that carries tags (a room batch) and is not yet handed to the
  // kernel; buffers without tags (acks, errors, replies) stay, in order. Reports the smallest
  // tag_first and the largest tag_last of the dropped buffers (0 when none), and in *kept_unsent
  // the bytes of the kept ones the kernel does not hold yet. Returns bytes dropped.
  size_t DropUnsent(ConnId c, uint64_t* first_tag, uint64_t* last_tag,
                    uint32_t* kept_unsent = nullptr);
  void Close(ConnId c, CloseMode mode);
  [[nodiscard]] bool IsOpen(ConnId c) const;
  // With LoopOptions::peer_counts: c was accepted while its address held the cap (it is not
  // counted); the handler refuses it and closes it.
  [[nodiscard]] bool OverPeerCap(ConnId c) const;

  // Regular-file I/O through the ring (the durable log's group commit). The buffer must stay
  // alive until OnFileDone(token, ...). The handler keeps at most a few of these in flight; the
  // loop does not order them (link nothing: submit the sync after the write completed).
  void SubmitFileWrite(int fd, const void* data, uint32_t len, uint64_t offset, uint32_t token);
  void SubmitFileSync(int fd, uint32_t token);

  // An outgoing TCP connection (IPv4 or IPv6, numeric host) on a direct descriptor: a socket
  // taken from the fixed-file table, then a connect bounded by timeout_ms. The answer comes to
  // OnConnected(token, ...), never from within this call. Returns -EINVAL for a bad address.
  [[nodiscard]] int Connect(const std::string& host, uint16_t port, uint32_t token,
                            uint32_t timeout_ms);

  // Stops and resumes accepting (for drain).
  void StopAccepting();

  [[nodiscard]] uint64_t NowMs() const { return now_ms_; }
  [[nodiscard]] uint32_t LiveConns() const { return live_; }
  [[nodiscard]] int ShardId() const { return opts_.shard_id; }
  [[nodiscard]] const LoopStats& Stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  LoopOptions opts_;
  LoopHandler* handler_;
  int ring_fd_ = -1;
  uint64_t now_ms_ = 0;
  uint32_t live_ = 0;
  LoopStats stats_;
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_requested_{false};
  friend struct Impl;
};

}  // namespace roomcast::io
