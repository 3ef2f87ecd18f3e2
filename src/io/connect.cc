// Outgoing connections (the Redis links of --redis): a socket created straight into the
// fixed-file table (IORING_OP_SOCKET, direct, slot allocated by the kernel), then a connect on
// that slot linked to a timeout. Once connected the slot is an ordinary connection: multishot
// receive, send queue, close path. Loop thread only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "loop_impl.h"

namespace roomcast::io {

namespace {

bool ParseAddress(const std::string& host, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  *ss = {};
  if (host.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(port);
  *len = sizeof(sockaddr_in);
  return inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1;
}

}  // namespace

int Loop::Connect(const std::string& host, uint16_t port, uint32_t token, uint32_t timeout_ms) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!ParseAddress(host, port, &ss, &len)) return -EINVAL;
  uint32_t index = 0;
  while (index < impl_->connects.size() && impl_->connects[index]->used) ++index;
  if (index == impl_->connects.size()) {
    impl_->connects.push_back(std::make_unique<Impl::PendingConnect>());
  }
  Impl::PendingConnect* p = impl_->connects[index].get();
  *p = {};
  p->used = true;
  p->token = token;
  p->timeout_ms = timeout_ms;
  p->addr = ss;
  p->addr_len = len;
  // A plain socket first, for TCP_NODELAY (pipelined small commands must not wait for Nagle),
  // then installed in a free slot of the fixed-file table; the plain descriptor is closed once
  // the table holds its own reference.
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    p->used = false;
    return -errno;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  p->fd = fd;
  p->plain_fd = fd;
  io_uring_sqe* sqe = impl_->GetSqe();
  io_uring_prep_files_update(sqe, &p->fd, 1, IORING_FILE_INDEX_ALLOC);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpSocket, 0, index));
  return 0;
}

void Loop::Impl::OnSocketDone(uint32_t index, int res) {
  PendingConnect* p = connects[index].get();
  const int plain_fd = p->plain_fd;
  close(plain_fd);
  if (res < 0) {
    p->used = false;
    loop->handler_->OnConnected(p->token, 0, res);
    return;
  }
  const uint32_t slot = static_cast<uint32_t>(p->fd);  // the kernel wrote the slot there
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_connect(sqe, static_cast<int>(slot), reinterpret_cast<sockaddr*>(&p->addr),
                        p->addr_len);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, PackUserData(kOpConnect, index, slot));
  p->timeout.tv_sec = p->timeout_ms / 1000;
  p->timeout.tv_nsec = static_cast<long long>(p->timeout_ms % 1000) * 1000000LL;
  sqe = GetSqe();
  io_uring_prep_link_timeout(sqe, &p->timeout, 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpCancel, 0, 0));
}

void Loop::Impl::OnConnectDone(uint32_t index, uint32_t slot, int res) {
  PendingConnect* p = connects[index].get();
  if (res < 0) {
    // A timed-out connect reports -ECANCELED; say what the caller cares about.
    p->res = res == -ECANCELED ? -ETIMEDOUT : res;
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, PackUserData(kOpConnectClose, 0, index));
    return;
  }
  Conn* c = Get(slot);
  c->flags = kOpen;
  c->queued = 0;
  c->inflight_refs = 0;
  c->inflight_bytes = 0;
  ++loop->live_;
  p->used = false;
  ArmRecv(slot);
  loop->handler_->OnConnected(p->token, slot, 0);
}

void Loop::Impl::OnConnectCloseDone(uint32_t index) {
  PendingConnect* p = connects[index].get();
  p->used = false;  // the slot is free again: only now may the caller try once more
  loop->handler_->OnConnected(p->token, 0, p->res);
}

}  // namespace roomcast::io
