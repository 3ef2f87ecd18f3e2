// The shard's listening socket: SO_REUSEPORT (one listener per shard; the kernel spreads new
// connections over them), TCP_NODELAY inherited by the accepted sockets.
#pragma once

#include <cstdint>
#include <string>

namespace roomcast::io {

// Binds host:port (numeric) and listens. Returns the descriptor, or -errno and fills *error.
[[nodiscard]] int OpenListener(const std::string& host, uint16_t port, int backlog,
                               std::string* error);

}  // namespace roomcast::io
