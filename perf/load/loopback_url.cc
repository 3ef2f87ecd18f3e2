// ParseLoopbackUrl (declared in options.h): the one place that keeps roomcast-load on loopback.
// Every target it accepts is 127.x.x.x, localhost or ::1; anything else is refused before a
// socket is opened.
#include <arpa/inet.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "options.h"

namespace roomcast::load {

bool ParseLoopbackUrl(const std::string& url, Target* t, std::string* why) {
  std::string_view u(url);
  if (u.substr(0, 5) == "ws://") {
    u.remove_prefix(5);
  } else if (u.substr(0, 7) == "http://") {  // the same server; reads better for HTTP viewers
    u.remove_prefix(7);
  } else {
    *why = "the URL must start with ws:// (or http://)";
    return false;
  }
  const size_t slash = u.find('/');
  std::string_view authority = u.substr(0, slash);
  if (slash != std::string_view::npos && u.size() > slash + 1) {
    t->path = std::string(u.substr(slash));
    t->path_given = true;
  }
  std::string_view host, port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return *why = "unterminated [IPv6] host", false;
    host = authority.substr(1, close - 1);
    if (authority.size() > close + 1 && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (port.empty()) return *why = "the URL needs an explicit port", false;
  const long p = std::strtol(std::string(port).c_str(), nullptr, 10);
  if (p <= 0 || p > 65535) return *why = "bad port '" + std::string(port) + "'", false;
  t->port = static_cast<uint16_t>(p);
  const std::string h(host);
  if (h == "localhost") {
    t->ipv6 = false;
    inet_pton(AF_INET, "127.0.0.1", &t->v4);
  } else if (inet_pton(AF_INET, h.c_str(), &t->v4) == 1) {
    t->ipv6 = false;
    if ((ntohl(t->v4.s_addr) >> 24) != 127) {
      return *why = "refusing non-loopback host " + h + " (only 127.x.x.x, localhost, ::1)", false;
    }
  } else if (inet_pton(AF_INET6, h.c_str(), &t->v6) == 1) {
    t->ipv6 = true;
    if (!IN6_IS_ADDR_LOOPBACK(&t->v6)) {
      return *why = "refusing non-loopback host " + h + " (only 127.x.x.x, localhost, ::1)", false;
    }
  } else {
    return *why = "refusing host '" + h + "' (only 127.x.x.x, localhost, ::1)", false;
  }
  t->host_header = std::string(authority);
  return true;
}

}  // namespace roomcast::load
