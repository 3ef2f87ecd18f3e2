// Outgoing connections (the Redis links of --redis): a socket created straight into the
// fixed-file table (IORING_OP_FILES_UPDATE, slot allocated by the kernel), then a connect on
// that slot linked to a timeout; a failed connect's slot is closed before the caller hears of it.
// Once connected the slot is an ordinary connection, the loop's business. Loop thread only.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace roomcast::io {

// What the handler is told (LoopHandler::OnConnected): res 0 and the connected slot, or -errno.
struct ConnectOutcome {
  uint32_t token;
  uint32_t slot;
  int res;
};

class PendingConnects {
 public:
  // Starts a connect; its outcome comes from a completion below. Returns 0 or -errno (-EINVAL for
  // a bad address).
  [[nodiscard]] int Start(io_uring* ring, const std::string& host, uint16_t port, uint32_t token,
                          uint32_t timeout_ms);
  // The socket is in the table (or not: the failed outcome); then the connect is submitted.
  [[nodiscard]] std::optional<ConnectOutcome> OnSocketDone(io_uring* ring, uint32_t index, int res);
  // Connected (the outcome), or failed: its slot is closed first (no outcome yet).
  [[nodiscard]] std::optional<ConnectOutcome> OnConnectDone(io_uring* ring, uint32_t index,
                                                            uint32_t slot, int res);
  // The failed connect's slot is free again: the failed outcome.
  [[nodiscard]] ConnectOutcome OnCloseDone(uint32_t index);

 private:
  // An entry is free when !used.
  struct PendingConnect {
    bool used = false;
    uint32_t token = 0;
    uint32_t timeout_ms = 0;
    int res = 0;
    int fd = -1;        // in: the plain socket; out: its fixed-file slot
    int plain_fd = -1;  // the plain socket, closed once the table holds it
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    __kernel_timespec timeout{};
  };
  std::vector<std::unique_ptr<PendingConnect>> connects_;
};

}  // namespace roomcast::io
