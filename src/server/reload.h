// SIGHUP: read the settings again (the same config file, the environment as at start, the same
// flags) and apply what can change while the server runs: --log-level, --log-format,
// --admin-key, --cors-origins and the user-token keys (user_token_keys.h: the key files are read
// again even when their names did not change). Every other changed setting is logged as needing
// a restart and keeps its running value; settings that are not valid change nothing at all.
// Main thread only.
#pragma once

#include "base/config.h"
#include "server.h"
#include "server_shared.h"

namespace roomcast::server {

// *running: the settings as given (before derived values such as --shards 0 were resolved),
// updated with what was applied.
void ReloadConfig(Config* running, const ConfigLoader& load, ServerShared* shared);

}  // namespace roomcast::server
