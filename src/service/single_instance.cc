// One server per listening address and per data directory (single_instance.h).
#include "single_instance.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/log.h"

namespace roomcast::server {

// SO_REUSEPORT lets any process of the same user bind a port that is already listening, and the
// kernel would then split clients between two unrelated servers. A probe bound without it (with
// SO_REUSEADDR, which tolerates TIME_WAIT but not a listener) finds a live one first.
bool PortIsFree(const Config& cfg) {
  const bool v6 = cfg.listen_host.find(':') != std::string::npos;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // the shards' own bind will say what is wrong
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool parsed = false;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(cfg.listen_port);
    parsed = inet_pton(AF_INET6, cfg.listen_host.c_str(), &a->sin6_addr) == 1;
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(cfg.listen_port);
    parsed = inet_pton(AF_INET, cfg.listen_host.c_str(), &a->sin_addr) == 1;
    len = sizeof(sockaddr_in);
  }
  const bool busy = parsed && cfg.listen_port != 0 &&
                    bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno == EADDRINUSE;
  close(fd);
  if (busy) {
    RC_ERROR(-1,
             "--listen %s:%u: address already in use (another roomcast or another server "
             "listens there)",
             cfg.listen_host.c_str(), cfg.listen_port);
  }
  return !busy;
}

// One server per --data-dir: a second one would replay, and append to, a live one's log. The
// lock (flock on DIR/lock) lasts as long as the process; the file says who holds it.
bool LockDataDir(const Config& cfg) {
  if (cfg.data_dir.empty()) return true;
  const std::string path = cfg.data_dir + "/lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return true;  // an unusable directory is reported by what uses it next
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {0};
    ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
    while (n > 0 && (holder[n - 1] == '\n' || holder[n - 1] == ' ')) --n;
    if (n > 0) holder[n] = 0;
    RC_ERROR(-1,
             "--data-dir %s is in use by another roomcast (pid %s): one server per data "
             "directory",
             cfg.data_dir.c_str(), n > 0 ? holder : "?");
    close(fd);
    return false;
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) (void)!pwrite(fd, pid.data(), pid.size(), 0);
  return true;  // fd stays open (and locked) until the process ends
}

}  // namespace roomcast::server
