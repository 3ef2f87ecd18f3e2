// Outgoing connections (connect.h). Loop thread only.
#include "connect.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "sock_addr.h"
#include "submit.h"

namespace roomcast::io {

int PendingConnects::Start(io_uring* ring, const std::string& host, uint16_t port, uint32_t token,
                           uint32_t timeout_ms) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!ParseSockAddr(host, port, &ss, &len)) return -EINVAL;
  uint32_t index = 0;
  while (index < connects_.size() && connects_[index]->used) ++index;
  if (index == connects_.size()) connects_.push_back(std::make_unique<PendingConnect>());
  PendingConnect* p = connects_[index].get();
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
  io_uring_sqe* sqe = GetSqe(ring);
  io_uring_prep_files_update(sqe, &p->fd, 1, IORING_FILE_INDEX_ALLOC);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpSocket, 0, index));
  return 0;
}

std::optional<ConnectOutcome> PendingConnects::OnSocketDone(io_uring* ring, uint32_t index,
                                                            int res) {
  PendingConnect* p = connects_[index].get();
  const int plain_fd = p->plain_fd;
  close(plain_fd);
  if (res < 0) {
    p->used = false;
    return ConnectOutcome{p->token, 0, res};
  }
  const uint32_t slot = static_cast<uint32_t>(p->fd);  // the kernel wrote the slot there
  io_uring_sqe* sqe = GetSqe(ring);
  io_uring_prep_connect(sqe, static_cast<int>(slot), reinterpret_cast<sockaddr*>(&p->addr),
                        p->addr_len);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, PackUserData(kOpConnect, index, slot));
  p->timeout.tv_sec = p->timeout_ms / 1000;
  p->timeout.tv_nsec = static_cast<long long>(p->timeout_ms % 1000) * 1000000LL;
  sqe = GetSqe(ring);
  io_uring_prep_link_timeout(sqe, &p->timeout, 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpCancel, 0, 0));
  return std::nullopt;
}

std::optional<ConnectOutcome> PendingConnects::OnConnectDone(io_uring* ring, uint32_t index,
                                                             uint32_t slot, int res) {
  PendingConnect* p = connects_[index].get();
  if (res < 0) {
    // A timed-out connect reports -ECANCELED; say what the caller cares about.
    p->res = res == -ECANCELED ? -ETIMEDOUT : res;
    io_uring_sqe* sqe = GetSqe(ring);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, PackUserData(kOpConnectClose, 0, index));
    return std::nullopt;
  }
  p->used = false;
  return ConnectOutcome{p->token, slot, 0};
}

ConnectOutcome PendingConnects::OnCloseDone(uint32_t index) {
  PendingConnect* p = connects_[index].get();
  p->used = false;  // the slot is free again: only now may the caller try once more
  return ConnectOutcome{p->token, 0, p->res};
}

}  // namespace roomcast::io
