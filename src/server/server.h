// Start-up and shutdown: one thread per shard, signals handled on the main thread (supervisor.h),
// the drain at SIGTERM/SIGINT, reload at SIGHUP. Main thread only.
#pragma once

#include <functional>
#include <string>

#include "base/config.h"

namespace roomcast::server {

// Reads the settings again (SIGHUP): false with *error when they are not valid.
using ConfigLoader = std::function<bool(Config* fresh, std::string* error)>;

// Runs the server until SIGTERM/SIGINT and the drain finish. Returns the process exit code.
int RunServer(const Config& cfg, const ConfigLoader& load_config);

}  // namespace roomcast::server
