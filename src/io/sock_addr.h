// A numeric IPv4 or IPv6 address and port as a sockaddr (IPv6 when the host has a ':').
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace roomcast::io {

// False when host is not a numeric address of its family.
[[nodiscard]] bool ParseSockAddr(const std::string& host, uint16_t port, sockaddr_storage* ss,
                                 socklen_t* len);

}  // namespace roomcast::io
