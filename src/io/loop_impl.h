// Private to src/io: the loop's state behind Loop's interface. Loop thread only.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/shard_loop.h"

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
  kOpAcceptAddr,  // a single-shot accept with its peer's address (slot = its AddrAccept index)
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

inline constexpr uint32_t kTableSlack = 64;    // slots beyond max_conns for accepts in flight
inline constexpr uint32_t kAcceptReserve = 8;  // accepting pauses this many slots short of full
inline constexpr uint32_t kConnChunk = 1024;   // connection records are allocated in chunks
inline constexpr uint32_t kMaxIov = 16;
inline constexpr uint32_t kMaxFreeRefs = 4096;  // send-queue records kept for reuse
inline constexpr uint32_t kMaxFreeOps = 256;    // vectored-send records kept for reuse
inline constexpr size_t kCoalesceBytes = 8192;  // a reply buffer grows to this at most
inline constexpr uint32_t kAddrAccepts = 8;     // single-shot accepts in flight when counting peers
// Completions handled in one loop turn. Between turns the shard drains its mesh rings and flushes
// due rooms, so this bounds how long a burst (e.g. a reconnect storm) can hold other rooms back.
inline constexpr unsigned kMaxCqesPerTurn = 1024;

struct Loop::SendRef {
  SharedBuf* buf;
  uint32_t off;
  SendRef* next;
};

struct Loop::SendOp {
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
  kPeerCounted = 1 << 12,  // counted in peer_counts under peers[slot]: uncounted when closed
  kOverPeerCap = 1 << 13,  // accepted while its address held the cap (not counted)
};

// A fixed-size connection record (40 bytes), indexed by fixed-file slot.
struct Loop::Conn {
  uint32_t gen = 0;
  uint16_t flags = 0;
  uint16_t inflight_refs = 0;  // queue entries handed to the kernel by the send in flight
  uint32_t queued = 0;         // bytes queued, in flight included
  uint32_t inflight_bytes = 0;
  SendRef* head = nullptr;
  SendRef* tail = nullptr;
  SendOp* op = nullptr;
};

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
  // With peer_counts: the single-shot accepts, each with its peer address buffer, and the
  // address of each slot's connection (peer_accept.cc).
  struct AddrAccept {
    sockaddr_storage addr;
    socklen_t len;
    bool armed;
  };
  std::vector<AddrAccept> addr_accepts;
  std::vector<PeerKey> peers;
  uint64_t peer_refusals_unlogged = 0;  // over-cap refusals since the last log line
  uint64_t peer_refusal_logged_ms = 0;
  uint64_t wake_errors = 0;

  // Provided buffer ring for multishot receives.
  io_uring_buf_ring* buf_ring = nullptr;
  size_t buf_ring_bytes = 0;
  uint8_t* buf_base = nullptr;
  size_t buf_base_bytes = 0;
  uint32_t bufs_to_return = 0;

  std::vector<std::unique_ptr<Conn[]>> conns;
  std::vector<uint32_t> dirty;        // connections with kSendPending
  std::vector<uint32_t> paused_recv;  // connections with kRecvPaused
  struct Linger {
    uint32_t slot;
    uint32_t gen;
    uint64_t deadline;
  };
  std::vector<Linger> lingering;
  // Outgoing connects in flight (connect.cc); an entry is free when !used.
  struct PendingConnect {
    bool used = false;
    uint32_t token = 0;
    uint32_t timeout_ms = 0;
    int res = 0;
    int fd = -1;        // in: the plain socket; out: its fixed-file slot
    int plain_fd = -1;  // the plain socket, closed once the table holds it
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    __kernel_timespec timeout{};
  };
  std::vector<std::unique_ptr<PendingConnect>> connects;
  SendOp* free_ops = nullptr;
  SendRef* free_refs = nullptr;
  uint32_t free_op_count = 0;
  uint32_t free_ref_count = 0;

  int Setup(std::string* error);
  int SetupBufferRing(std::string* error);
  void FreeBufferRing();
  int SetupListener(std::string* error);
  void Teardown();
  io_uring_sqe* GetSqe();
  void ArmEventFd();
  void ArmAccept();
  bool RoomToAccept() const;
  void ArmRecv(uint32_t slot);
  void ReapCompletions();
  void Dispatch(const io_uring_cqe* cqe);
  void ReturnBuffer(uint16_t bid);
  void ReturnBuffers();

  Conn* Get(uint32_t slot) {
    uint32_t chunk = slot / kConnChunk;
    if (chunk >= conns.size()) conns.resize(chunk + 1);
    if (!conns[chunk]) conns[chunk] = std::make_unique<Conn[]>(kConnChunk);
    return &conns[chunk][slot % kConnChunk];
  }
  const Conn* Find(uint32_t slot) const {
    uint32_t chunk = slot / kConnChunk;
    if (chunk >= conns.size() || !conns[chunk]) return nullptr;
    return &conns[chunk][slot % kConnChunk];
  }

  void OnAcceptDone(const io_uring_cqe* cqe);
  void OpenConn(uint32_t slot);
  // Peer-counting accepts (peer_accept.cc).
  void SetupPeerAccepts();
  void ArmAddrAccepts();
  void CancelAddrAccepts();
  void OnAddrAcceptDone(uint32_t idx, const io_uring_cqe* cqe);
  void CountPeer(uint32_t slot, const AddrAccept& a);
  void UncountPeer(uint32_t slot, Conn* c);
  void OnRecvDone(uint32_t slot, uint32_t gen, const io_uring_cqe* cqe);
  void OnSendDone(uint32_t slot, uint32_t gen, int res);
  void OnShutdownDone(uint32_t slot, uint32_t gen, uint16_t in_flight_flag);
  void OnCloseDone(uint32_t slot, uint32_t gen, int res);
  void RearmPausedRecvs();
  void ExpireLingers();

  // Send queue (send_queue.cc).
  SendRef* NewRef();
  void FreeRef(SendRef* r);
  void FreeOp(SendOp* op);
  bool AppendToTail(Conn* c, std::string_view bytes);
  void MarkDirty(uint32_t slot, Conn* c);
  void FlushSends();
  void StartSend(uint32_t slot, Conn* c);
  void ConsumeSent(Conn* c, uint32_t bytes);
  // Drops what the kernel does not hold yet: everything, or with tagged_only just the buffers
  // that carry tags (room batches).
  size_t DropQueue(Conn* c, uint64_t* first_tag, uint64_t* last_tag, bool tagged_only = false,
                   uint32_t* kept_unsent = nullptr);

  // Outgoing connects (connect.cc).
  void OnSocketDone(uint32_t index, int res);
  void OnConnectDone(uint32_t index, uint32_t slot, int res);
  void OnConnectCloseDone(uint32_t index);

  // Close path (conn_life.cc).
  void AdvanceClose(uint32_t slot, Conn* c);
  void PeerGone(uint32_t slot, Conn* c);
};

}  // namespace roomcast::io
