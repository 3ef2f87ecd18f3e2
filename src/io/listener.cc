// The shard's listening socket (listener.h).
#include "listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sock_addr.h"

namespace roomcast::io {

int OpenListener(const std::string& host, uint16_t port, int backlog, std::string* error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!ParseSockAddr(host, port, &ss, &len)) {
    *error = "bad listen address " + host;
    return -EINVAL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return -errno;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // One listener per shard: the kernel spreads new connections over them evenly.
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // inherited by accepted sockets
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    int e = errno;
    *error = "bind " + host + ":" + std::to_string(port) + ": " + strerror(e);
    close(fd);
    return -e;
  }
  if (listen(fd, backlog) < 0) {
    int e = errno;
    *error = std::string("listen: ") + strerror(e);
    close(fd);
    return -e;
  }
  return fd;
}

}  // namespace roomcast::io
