// io_uring client connections: connect, upgrade, multishot receive with provided buffers, sends.
#include "uring_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace roomcast::load {

namespace {

constexpr uint16_t kBufGroup = 7;
constexpr uint32_t kBufSize = 16384;
constexpr int kOpShift = 56;
constexpr unsigned kMaxCqesPerPoll = 512;

uint64_t Tag(uint8_t op, uint32_t id) { return (uint64_t{op} << kOpShift) | id; }

}  // namespace

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

const char* FailStageName(FailStage s) {
  switch (s) {
    case FailStage::kSocket:
      return "socket";
    case FailStage::kConnect:
      return "connect";
    case FailStage::kUpgrade:
      return "upgrade";
    case FailStage::kProtocol:
      return "protocol";
    case FailStage::kPeerClosed:
      return "peer_closed";
    case FailStage::kIoError:
      return "io_error";
    case FailStage::kTimeout:
      return "timeout";
  }
  return "?";
}

UringClient::UringClient(const Target& target, uint32_t source_ips, ClientHandler* handler)
    : target_(target), source_ips_(source_ips ? source_ips : 1), handler_(handler) {
  if (!target_.ipv6) {
    auto* d = reinterpret_cast<sockaddr_in*>(&dest_);
    d->sin_family = AF_INET;
    d->sin_port = htons(target_.port);
    d->sin_addr = target_.v4;
    dest_len_ = sizeof(sockaddr_in);
  } else {
    auto* d = reinterpret_cast<sockaddr_in6*>(&dest_);
    d->sin6_family = AF_INET6;
    d->sin6_port = htons(target_.port);
    d->sin6_addr = target_.v6;
    dest_len_ = sizeof(sockaddr_in6);
  }
}

UringClient::~UringClient() {
  CloseAll();
  if (buffers_) std::free(buffers_);
}

bool UringClient::Init(uint32_t max_conns, std::string* err) {
  conns_.resize(max_conns);
  // Enough completion slots for a burst from every connection; the kernel keeps overflowing
  // completions on a list, so this bounds cost, not correctness.
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = 32768;
  int r = io_uring_queue_init_params(4096, &ring_, &p);
  if (r < 0) {  // older kernels: no DEFER_TASKRUN / SINGLE_ISSUER
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 32768;
    r = io_uring_queue_init_params(4096, &ring_, &p);
  }
  if (r < 0) {
    *err = std::string("io_uring_queue_init: ") + std::strerror(-r);
    return false;
  }
  ring_ok_ = true;
  // Buffers: two per connection, 256..4096 of them (a batch handles at most 512 completions).
  uint32_t count = 256;
  while (count < 4096 && count < max_conns * 2) count <<= 1;
  buf_count_ = count;
  buf_size_ = kBufSize;
  buf_ring_bytes_ = sizeof(io_uring_buf) * count;
  void* mem =
      mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    *err = std::string("mmap buffer ring: ") + std::strerror(errno);
    return false;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = kBufGroup;
  r = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (r < 0) {
    *err = std::string("io_uring_register_buf_ring: ") + std::strerror(-r);
    return false;
  }
  buffers_ = static_cast<char*>(std::malloc(static_cast<size_t>(count) * buf_size_));
  if (!buffers_) {
    *err = "out of memory for receive buffers";
    return false;
  }
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(i) * buf_size_, buf_size_,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(count));
  return true;
}

io_uring_sqe* UringClient::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {  // submission queue full: hand what is there to the kernel and retry once
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
      std::fprintf(stderr, "roomcast-load: io_uring submission queue stuck full\n");
      std::abort();
    }
  }
  return sqe;
}

void UringClient::OpenRaw(uint32_t id, uint64_t source_index) {
  conns_[id].raw = true;
  Open(id, source_index, std::string());
}

void UringClient::Open(uint32_t id, uint64_t source_index, std::string request) {
  Conn& c = conns_[id];
  c.opened_ns = NowNs();
  c.out = std::move(request);
  const int family = target_.ipv6 ? AF_INET6 : AF_INET;
  c.fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return Fail(id, FailStage::kSocket, -errno);
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!target_.ipv6) {
    // Spread sources over 127.0.0.x and let connect() pick the port per 4-tuple, so that the
    // ephemeral range is per source address and destination rather than global.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001u + static_cast<uint32_t>(source_index % source_ips_));
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0) {
      return Fail(id, FailStage::kSocket, -errno);
    }
  }
  c.state = ConnState::kConnecting;
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_connect(sqe, c.fd, reinterpret_cast<const sockaddr*>(&dest_), dest_len_);
  io_uring_sqe_set_data64(sqe, Tag(kOpConnect, id));
}

void UringClient::Send(uint32_t id, std::string_view bytes) {
  Conn& c = conns_[id];
  if (c.state != ConnState::kOpen && c.state != ConnState::kUpgrading) return;
  c.out.append(bytes);
  if (!c.send_inflight) StartSend(id);
}

void UringClient::StartSend(uint32_t id) {
  Conn& c = conns_[id];
  if (c.inflight_off >= c.inflight.size()) {
    if (c.out.empty()) return;
    c.inflight.swap(c.out);
    c.out.clear();
    c.inflight_off = 0;
  }
  c.send_inflight = true;
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_send(sqe, c.fd, c.inflight.data() + c.inflight_off,
                     c.inflight.size() - c.inflight_off, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, Tag(kOpSend, id));
  ++counters_.sends;
}

void UringClient::ArmRecv(uint32_t id) {
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_recv_multishot(sqe, conns_[id].fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufGroup;
  io_uring_sqe_set_data64(sqe, Tag(kOpRecv, id));
}

void UringClient::Fail(uint32_t id, FailStage stage, int err) {
  if (conns_[id].state == ConnState::kClosed) return;
  Close(id);
  handler_->OnFailed(id, stage, err);
}

void UringClient::Close(uint32_t id) {
  Conn& c = conns_[id];
  if (c.state == ConnState::kClosed) return;
  c.state = ConnState::kClosed;
  if (c.fd >= 0) {
    shutdown(c.fd, SHUT_RDWR);  // ends a multishot receive still holding the socket
    close(c.fd);
    c.fd = -1;
  }
  std::string().swap(c.carry);
  std::string().swap(c.out);
  std::string().swap(c.inflight);
}

void UringClient::Poll(uint64_t deadline_ns) {
  const uint64_t now = NowNs();
  const uint64_t wait = deadline_ns > now ? deadline_ns - now : 0;
  __kernel_timespec ts{};
  ts.tv_sec = static_cast<int64_t>(wait / 1000000000ull);
  ts.tv_nsec = static_cast<long long>(wait % 1000000000ull);
  io_uring_cqe* cqe = nullptr;
  ++counters_.enters;
  int r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
    std::fprintf(stderr, "roomcast-load: io_uring wait: %s\n", std::strerror(-r));
  }
  // A bounded batch, so that a caller with a schedule (publishers) gets control back often even
  // when deliveries pour in; what is left stays in the ring for the next call.
  unsigned head = 0, seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    HandleCqe(cqe);
    if (++seen == kMaxCqesPerPoll) break;
  }
  io_uring_cq_advance(&ring_, seen);
  if (returned_) {
    io_uring_buf_ring_advance(buf_ring_, returned_);
    returned_ = 0;
  }
  for (uint32_t id : rearm_) {
    if (conns_[id].state == ConnState::kOpen || conns_[id].state == ConnState::kUpgrading) {
      ArmRecv(id);
      ++counters_.recv_rearms;
    }
  }
  rearm_.clear();
}

void UringClient::HandleCqe(const io_uring_cqe* cqe) {
  const uint64_t tag = io_uring_cqe_get_data64(cqe);
  const uint32_t id = static_cast<uint32_t>(tag & 0xffffffffu);
  switch (static_cast<Op>(tag >> kOpShift)) {
    case kOpConnect:
      return OnConnect(id, cqe->res);
    case kOpSend:
      return OnSend(id, cqe->res);
    case kOpRecv:
      return OnRecv(id, cqe->res, cqe->flags);
  }
}

void UringClient::OnConnect(uint32_t id, int res) {
  Conn& c = conns_[id];
  if (c.state != ConnState::kConnecting) return;
  if (res < 0) return Fail(id, FailStage::kConnect, res);
  if (c.raw) {
    c.state = ConnState::kOpen;
    ArmRecv(id);
    handler_->OnOpen(id);
    return;
  }
  c.state = ConnState::kUpgrading;
  ArmRecv(id);
  StartSend(id);  // the upgrade request queued by Open
}

void UringClient::OnSend(uint32_t id, int res) {
  Conn& c = conns_[id];
  c.send_inflight = false;
  if (c.state == ConnState::kClosed) return;
  if (res < 0) return Fail(id, FailStage::kIoError, res);
  c.inflight_off += static_cast<size_t>(res);
  StartSend(id);
}

void UringClient::ReturnBuffer(uint16_t bid) {
  io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(bid) * buf_size_, buf_size_, bid,
                        io_uring_buf_ring_mask(buf_count_), returned_);
  ++returned_;
}

void UringClient::OnRecv(uint32_t id, int res, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (flags & IORING_CQE_F_BUFFER) {
    const uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (res > 0 && conns_[id].state != ConnState::kClosed) {
      ++counters_.recv_completions;
      counters_.recv_bytes += static_cast<uint64_t>(res);
      Consume(id, std::string_view(buffers_ + static_cast<size_t>(bid) * buf_size_,
                                   static_cast<size_t>(res)));
    }
    ReturnBuffer(bid);
  }
  if (conns_[id].state == ConnState::kClosed) return;
  if (res == 0) return Fail(id, FailStage::kPeerClosed, 0);
  if (res == -ENOBUFS) {
    ++counters_.enobufs;
    rearm_.push_back(id);  // after this batch has given its buffers back
    return;
  }
  if (res < 0) return Fail(id, FailStage::kIoError, res);
  if (!more) rearm_.push_back(id);
}

void UringClient::Consume(uint32_t id, std::string_view data) {
  Conn& c = conns_[id];
  if (c.raw) {
    if (c.carry.empty()) {
      const size_t used = handler_->OnRaw(id, data);
      if (conns_[id].state == ConnState::kOpen && used < data.size())
        c.carry.assign(data.substr(used));
      return;
    }
    c.carry.append(data);
    const size_t used = handler_->OnRaw(id, c.carry);
    if (conns_[id].state == ConnState::kOpen) c.carry.erase(0, used);
    return;
  }
  if (c.state == ConnState::kUpgrading) {
    c.carry.append(data);
    size_t head = 0;
    switch (ParseUpgradeResponse(c.carry, &head)) {
      case UpgradeStatus::kIncomplete:
        return;
      case UpgradeStatus::kRefused:
        return Fail(id, FailStage::kUpgrade, 0);
      case UpgradeStatus::kSwitched:
        break;
    }
    c.state = ConnState::kOpen;
    handler_->OnOpen(id);
    if (conns_[id].state != ConnState::kOpen) return;
    scratch_.assign(c.carry, head);
    c.carry.clear();
    data = scratch_;
    if (data.empty()) return;
  }
  bool ok = true;
  if (c.carry.empty()) {
    const size_t used = ScanInto(id, data, &ok);
    if (!ok) return Fail(id, FailStage::kProtocol, 0);
    if (conns_[id].state == ConnState::kOpen && used < data.size())
      c.carry.assign(data.substr(used));
    return;
  }
  c.carry.append(data);
  const size_t used = ScanInto(id, c.carry, &ok);
  if (!ok) return Fail(id, FailStage::kProtocol, 0);
  if (conns_[id].state == ConnState::kOpen) c.carry.erase(0, used);
}

size_t UringClient::ScanInto(uint32_t id, std::string_view data, bool* ok) {
  bool bad = false;
  const size_t used = ScanFrames(data, &bad, [&](const ServerFrame& f) {
    if (conns_[id].state != ConnState::kOpen) return;
    ++counters_.frames;
    switch (f.opcode) {
      case WsOpcode::kText:
        if (!f.fin) ++counters_.fragmented;
        if (f.compressed) {
          if (!inflater_.Inflate(f.payload, &inflated_)) {
            bad = true;
            return;
          }
          ++counters_.inflated;
          handler_->OnText(id, inflated_);
          return;
        }
        handler_->OnText(id, f.payload);
        return;
      case WsOpcode::kPing: {
        std::string pong;
        AppendClientFrame(&pong, WsOpcode::kPong, f.payload, mask_seed_++);
        Send(id, pong);
        ++counters_.pings_answered;
        return;
      }
      case WsOpcode::kClose:
        Fail(id, FailStage::kPeerClosed, 0);
        return;
      case WsOpcode::kCont:
        ++counters_.fragmented;
        return;
      default:
        return;
    }
  });
  *ok = !bad;
  return used;
}

void UringClient::CloseAll() {
  // shutdown() first: a socket with a receive still armed stays open until the ring's teardown
  // (asynchronous, after our exit) drops its reference; the server should see our FIN now.
  for (Conn& c : conns_) {
    if (c.fd >= 0) shutdown(c.fd, SHUT_RDWR);
  }
  for (Conn& c : conns_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    if (c.state != ConnState::kIdle) c.state = ConnState::kClosed;
  }
  if (ring_ok_) {
    io_uring_queue_exit(&ring_);
    ring_ok_ = false;
  }
  if (buf_ring_) {
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
  }
}

}  // namespace roomcast::load
