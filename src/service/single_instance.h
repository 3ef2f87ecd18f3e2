// Start-up checks that keep a second server from sharing what one server owns, each logging why
// it refuses. Main thread only, before the shards start.
#pragma once

#include "base/config.h"

namespace roomcast::server {

// False (logged) when another process listens on --listen already: SO_REUSEPORT would otherwise
// let the kernel split clients between the two.
[[nodiscard]] bool PortIsFree(const Config& cfg);
// False (logged, with the holder's pid) when another roomcast holds --data-dir; otherwise locks it
// for the life of the process. True without --data-dir.
[[nodiscard]] bool LockDataDir(const Config& cfg);

}  // namespace roomcast::server
