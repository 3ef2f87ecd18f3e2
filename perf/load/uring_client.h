// Many WebSocket client connections on one io_uring, owned by one thread of one worker process.
//
// Per connection: socket, bind to a spread 127.0.0.x source, connect, the upgrade request, then
// one multishot receive into a shared ring of provided buffers (no syscall per delivery: one
// io_uring_enter per batch of completions) and at most one send in flight. The client knows the
// WebSocket layer (pings are answered, closes noticed) but nothing of roomcast's objects: whole
// server frames go to a ClientHandler. Every op is tagged in user_data as (op << 56 | conn id) and
// all completions are handled in Poll(). Connection ids are dense and never reused.
// A raw connection (OpenRaw) skips the WebSocket layer: it is open once connected, and the bytes
// it receives go to ClientHandler::OnRaw (the nchan target's HTTP publishers).
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message_inflater.h"
#include "options.h"
#include "ws_client.h"

namespace roomcast::load {

enum class ConnState : uint8_t { kIdle, kConnecting, kUpgrading, kOpen, kClosed };

// Why a connection ended before the scenario closed it.
enum class FailStage : uint8_t {
  kSocket,
  kConnect,
  kUpgrade,
  kProtocol,
  kPeerClosed,
  kIoError,
  kTimeout,
};
inline constexpr int kFailStages = 7;
[[nodiscard]] const char* FailStageName(FailStage s);

class ClientHandler {
 public:
  // The upgrade succeeded; frames follow.
  virtual void OnOpen(uint32_t conn) = 0;
  // One whole text frame (fragmented messages are not expected from roomcast and are counted).
  virtual void OnText(uint32_t conn, std::string_view payload) = 0;
  // The connection failed or the server closed it; err is a negative errno or 0.
  virtual void OnFailed(uint32_t conn, FailStage stage, int err) = 0;
  // Bytes received on a raw connection (the carried rest first); returns how many it consumed,
  // the rest is kept and handed again with what follows.
  virtual size_t OnRaw(uint32_t /*conn*/, std::string_view data) { return data.size(); }

 protected:
  ~ClientHandler() = default;
};

struct ClientCounters {
  uint64_t recv_completions = 0;
  uint64_t recv_bytes = 0;
  uint64_t recv_rearms = 0;  // multishot receive ended (e.g. -ENOBUFS) and was re-armed
  uint64_t enobufs = 0;      // the provided-buffer ring ran dry
  uint64_t frames = 0;
  uint64_t pings_answered = 0;
  uint64_t fragmented = 0;  // non-final or continuation frames (unexpected from roomcast)
  uint64_t sends = 0;
  uint64_t enters = 0;    // io_uring_enter calls made by Poll
  uint64_t inflated = 0;  // compressed (RSV1) messages inflated (--deflate)
};

class UringClient {
 public:
  UringClient(const Target& target, uint32_t source_ips, ClientHandler* handler);
  ~UringClient();
  UringClient(const UringClient&) = delete;
  UringClient& operator=(const UringClient&) = delete;

  // Sets up the ring and the buffer pool for up to max_conns connections; false with *err.
  [[nodiscard]] bool Init(uint32_t max_conns, std::string* err);

  // Starts connection id (0 <= id < max_conns, each once): connect, then send `request`.
  // source_index picks the source address 127.0.0.(1 + source_index % source_ips).
  void Open(uint32_t id, uint64_t source_index, std::string request);
  // Starts raw connection id: connect only; OnOpen once connected, received bytes to OnRaw.
  void OpenRaw(uint32_t id, uint64_t source_index);
  // Queues bytes (whole client frames) on an open connection; dropped if it is not open.
  void Send(uint32_t id, std::string_view bytes);

  // Submits what is queued, waits for completions until at least one arrives or deadline_ns
  // (CLOCK_MONOTONIC) passes, and handles every completion that is ready. Never blocks past the
  // deadline; returns at once when it is already past.
  void Poll(uint64_t deadline_ns);

  // Closes one connection now, reporting it to the handler as failed at `stage` (e.g. kTimeout).
  void Abort(uint32_t id, FailStage stage) { Fail(id, stage, 0); }
  // Closes one connection now (shutdown, close) without telling the handler: the scenario chose
  // to drop it (the storm).
  void Close(uint32_t id);
  // Shuts down and closes every socket, then tears the ring down (the kernel cancels what is
  // pending).
  void CloseAll();

  [[nodiscard]] ConnState State(uint32_t id) const { return conns_[id].state; }
  [[nodiscard]] uint64_t OpenedAt(uint32_t id) const { return conns_[id].opened_ns; }
  [[nodiscard]] const ClientCounters& Counters() const { return counters_; }

 private:
  enum Op : uint8_t { kOpConnect = 1, kOpSend = 2, kOpRecv = 3 };
  struct Conn {
    int fd = -1;
    ConnState state = ConnState::kIdle;
    bool send_inflight = false;
    bool raw = false;
    uint64_t opened_ns = 0;
    std::string carry;     // the start of an incomplete frame (or response head)
    std::string out;       // queued, not yet handed to the kernel
    std::string inflight;  // bytes of the send in flight
    size_t inflight_off = 0;
  };

  io_uring_sqe* GetSqe();
  void ArmRecv(uint32_t id);
  void StartSend(uint32_t id);
  void Fail(uint32_t id, FailStage stage, int err);
  void HandleCqe(const io_uring_cqe* cqe);
  void OnConnect(uint32_t id, int res);
  void OnSend(uint32_t id, int res);
  void OnRecv(uint32_t id, int res, uint32_t flags);
  // Feeds received bytes to the upgrade parser or the frame scanner.
  void Consume(uint32_t id, std::string_view data);
  // Scans frames in data; returns bytes consumed (false in *ok on a protocol error).
  size_t ScanInto(uint32_t id, std::string_view data, bool* ok);
  void ReturnBuffer(uint16_t bid);

  Target target_;
  sockaddr_storage dest_{};  // the server, the same for every connection
  socklen_t dest_len_ = 0;
  uint32_t source_ips_;
  ClientHandler* handler_;
  io_uring ring_{};
  bool ring_ok_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  char* buffers_ = nullptr;
  uint32_t buf_count_ = 0;
  uint32_t buf_size_ = 0;
  int returned_ = 0;  // buffers added to the ring in this batch, published at its end
  std::vector<Conn> conns_;
  std::vector<uint32_t> rearm_;  // connections whose multishot receive must be re-armed
  std::string scratch_;
  MessageInflater inflater_;  // --deflate: RSV1 frames
  std::string inflated_;
  uint32_t mask_seed_ = 0x9e3779b9u;
  ClientCounters counters_;
};

// CLOCK_MONOTONIC in nanoseconds.
[[nodiscard]] uint64_t NowNs();

}  // namespace roomcast::load
