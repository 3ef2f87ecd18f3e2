#include "service/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "http/http_parser.h"

namespace roomcast::server {

namespace {

// $NOTIFY_SOCKET as a sockaddr_un: a path, or '@' for an abstract name (a leading NUL byte).
bool MakeAddress(const std::string& name, sockaddr_un* sa, socklen_t* len) {
  if (name.empty() || name.size() >= sizeof(sa->sun_path)) return false;
  if (name[0] != '/' && name[0] != '@') return false;
  std::memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  std::memcpy(sa->sun_path, name.data(), name.size());
  if (name[0] == '@') sa->sun_path[0] = '\0';
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  return true;
}

}  // namespace

Notifier::Notifier() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  if (sock && *sock) {
    addr_ = sock;
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) RC_WARN(-1, "NOTIFY_SOCKET=%s: socket: %s", sock, std::strerror(errno));
  }
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  uint64_t v = 0;
  uint64_t p = 0;
  const bool for_us =
      !pid || !*pid || (http::ParseDecimal(pid, &p) && p == static_cast<uint64_t>(getpid()));
  if (usec && http::ParseDecimal(usec, &v) && v > 0 && for_us && Enabled()) watchdog_usec_ = v;
}

Notifier::~Notifier() {
  if (fd_ >= 0) close(fd_);
}

bool Notifier::Send(std::string_view state) {
  if (fd_ < 0) return false;
  sockaddr_un sa;
  socklen_t len = 0;
  ssize_t n = -1;
  if (MakeAddress(addr_, &sa, &len)) {
    n = sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa),
               len);
  } else {
    errno = EINVAL;
  }
  if (n == static_cast<ssize_t>(state.size())) return true;
  if (!warned_) {
    warned_ = true;
    RC_WARN(-1, "cannot notify systemd at NOTIFY_SOCKET=%s: %s", addr_.c_str(),
            std::strerror(errno));
  }
  return false;
}

}  // namespace roomcast::server
