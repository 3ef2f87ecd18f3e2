// systemd's service notification protocol (sd_notify(3)), spoken directly: one datagram of
// "NAME=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
// abstract namespace). Without $NOTIFY_SOCKET (not run by systemd as Type=notify) every call is a
// no-op. The watchdog interval comes from $WATCHDOG_USEC (ignored when $WATCHDOG_PID names another
// process). Main thread only: the shards never notify, they only bump their heartbeats
// (watchdog.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roomcast::server {

class Notifier {
 public:
  // Reads the environment once.
  Notifier();
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  [[nodiscard]] bool Enabled() const { return fd_ >= 0; }
  // Sends one datagram ("READY=1\nSTATUS=...", newline-separated assignments). False when it
  // could not be sent (logged once; systemd then sees no readiness and times the start out).
  bool Send(std::string_view state);
  // The watchdog interval systemd asked for (WatchdogSec=), 0 when off.
  [[nodiscard]] uint64_t WatchdogUsec() const { return watchdog_usec_; }

 private:
  int fd_ = -1;
  std::string addr_;  // the socket's name as given (for the log)
  uint64_t watchdog_usec_ = 0;
  bool warned_ = false;
};

}  // namespace roomcast::server
