// The key material user tokens are checked with, as the settings name it (PROTOCOL.md,
// "Identity"): the HS256 secret from --jwt-secret-file (one trailing newline dropped) or env
// ROOMCAST_JWT_SECRET, and the PEM public key from --jwt-public-key-file. Read at start and at
// SIGHUP (server/user_token_keys.h decides what to do with it). Any thread.
#pragma once

#include <cstdint>
#include <string>

#include "auth/token_keys.h"
#include "base/config.h"

namespace roomcast::auth {

// The secret and the PEM, read from their files (or the environment). False with *err (which
// names the setting) when a file cannot be read, is over 64 KiB, or the secret is under 16 bytes.
[[nodiscard]] bool ReadKeyMaterial(const Config& cfg, std::string* secret, std::string* pem,
                                   std::string* err);
// " HS256 RS256 ..." for the log.
[[nodiscard]] std::string AlgorithmsOf(const TokenKeys& k);
// Tells key material apart (a reload applies only what changed).
[[nodiscard]] uint64_t KeyDigest(const std::string& secret, const std::string& pem);

}  // namespace roomcast::auth
