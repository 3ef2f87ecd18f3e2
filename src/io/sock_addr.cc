// Numeric socket addresses (sock_addr.h).
#include "sock_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace roomcast::io {

bool ParseSockAddr(const std::string& host, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
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

}  // namespace roomcast::io
