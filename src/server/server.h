// Start-up and shutdown: one thread per shard, signals handled on the main thread, drain on
// SIGTERM/SIGINT. Main thread only.
#pragma once

#include "base/config.h"

namespace roomcast::server {

// Runs the server until SIGTERM/SIGINT and the drain finish. Returns the process exit code.
int RunServer(const Config& cfg);

}  // namespace roomcast::server
