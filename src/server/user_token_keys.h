// The keys user tokens are checked with (PROTOCOL.md, "Identity"): the HS256 secret from
// --jwt-secret-file (one trailing newline dropped) or env ROOMCAST_JWT_SECRET, and the PEM public
// key from --jwt-public-key-file. Read at start (a bad key stops the start) and again at SIGHUP
// (a bad key keeps the keys in force: a reload never leaves the server with no keys, or with keys
// nobody meant). The keys in force are ServerShared::token_keys, an atomic shared_ptr that each
// token check reads once; a connection verified earlier keeps its user until its token expires.
// Main thread only.
#pragma once

#include "base/config.h"
#include "server_shared.h"

namespace roomcast::server {

// At start: reads the keys into shared->token_keys (none configured: null, every token is
// refused). False (logged) when a configured key cannot be used.
[[nodiscard]] bool SetUpTokenKeys(const Config& cfg, ServerShared* shared);

// At SIGHUP, with the reloaded settings: reads the keys again and swaps them in when they
// changed. Returns 1 when new keys were applied, else 0; a key file that cannot be read or used,
// or settings that name no key while keys are in force, keep the old keys and log an error.
int ReloadTokenKeys(const Config& fresh, ServerShared* shared);

}  // namespace roomcast::server
