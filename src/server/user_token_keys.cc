#include "user_token_keys.h"

#include <memory>
#include <string>

#include "auth/key_files.h"
#include "base/log.h"

namespace roomcast::server {

using auth::AlgorithmsOf;
using auth::KeyDigest;
using auth::ReadKeyMaterial;

bool SetUpTokenKeys(const Config& cfg, ServerShared* shared) {
  if (cfg.dev_auth) {
    RC_WARN(-1,
            "--dev-auth is ON: ?user=NAME names any user without proof. Development only; never "
            "expose this server to real users");
  }
  std::string secret, pem, err;
  if (!ReadKeyMaterial(cfg, &secret, &pem, &err)) {
    RC_ERROR(-1, "%s", err.c_str());
    return false;
  }
  if (secret.empty() && pem.empty()) {
    RC_INFO(-1, "no JWT key configured: user tokens are refused%s",
            cfg.dev_auth ? "" : "; clients are anonymous viewers");
    return true;
  }
  const uint64_t digest = KeyDigest(secret, pem);
  std::shared_ptr<const auth::TokenKeys> keys = auth::TokenKeys::Load(std::move(secret), pem, &err);
  if (!keys) {
    RC_ERROR(-1, "--jwt-public-key-file: %s", err.c_str());
    return false;
  }
  RC_INFO(-1, "user tokens are checked with:%s", AlgorithmsOf(*keys).c_str());
  shared->token_keys.store(std::move(keys));
  shared->token_keys_digest = digest;
  return true;
}

int ReloadTokenKeys(const Config& fresh, ServerShared* shared) {
  const bool had_keys = shared->token_keys.load() != nullptr;
  std::string secret, pem, err;
  if (!ReadKeyMaterial(fresh, &secret, &pem, &err)) {
    RC_ERROR(-1, "reload: %s; the user-token keys in force are kept", err.c_str());
    return 0;
  }
  if (secret.empty() && pem.empty()) {
    if (had_keys) {
      RC_ERROR(-1,
               "reload: the settings name no JWT key; the user-token keys in force are kept "
               "(removing every key needs a restart)");
    }
    return 0;
  }
  const uint64_t digest = KeyDigest(secret, pem);
  if (had_keys && digest == shared->token_keys_digest) return 0;  // the same keys
  std::shared_ptr<const auth::TokenKeys> keys = auth::TokenKeys::Load(std::move(secret), pem, &err);
  if (!keys) {
    RC_ERROR(-1, "reload: --jwt-public-key-file: %s; the user-token keys in force are kept",
             err.c_str());
    return 0;
  }
  RC_INFO(-1, "reload: new user-token keys: tokens are now checked with:%s",
          AlgorithmsOf(*keys).c_str());
  shared->token_keys.store(std::move(keys));
  shared->token_keys_digest = digest;
  return 1;
}

}  // namespace roomcast::server
