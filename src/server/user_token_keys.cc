#include "user_token_keys.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "base/log.h"

namespace roomcast::server {

namespace {

constexpr size_t kMaxKeyFileBytes = 65536;

// Reads a whole small file (a key); false with *err.
bool ReadKeyFile(const std::string& path, std::string* out, std::string* err) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *err = path + ": " + std::strerror(errno);
    return false;
  }
  char buf[4096];
  size_t n = 0;
  out->clear();
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out->size() <= kMaxKeyFileBytes) {
    out->append(buf, n);
  }
  std::fclose(f);
  if (out->size() > kMaxKeyFileBytes) {
    *err = path + ": over 64 KiB, not a key";
    return false;
  }
  return true;
}

// What the settings name as keys: the secret and the PEM, read from their files (or the
// environment). False with *err (which names the setting) when a file cannot be read or the
// secret is too short.
bool ReadKeyMaterial(const Config& cfg, std::string* secret, std::string* pem, std::string* err) {
  secret->clear();
  pem->clear();
  if (!cfg.jwt_secret_file.empty()) {
    if (!ReadKeyFile(cfg.jwt_secret_file, secret, err)) {
      *err = "--jwt-secret-file " + *err;
      return false;
    }
    if (!secret->empty() && secret->back() == '\n') secret->pop_back();
    if (!secret->empty() && secret->back() == '\r') secret->pop_back();
    if (secret->size() < 16) {
      *err = "--jwt-secret-file " + cfg.jwt_secret_file +
             ": the secret must be at least 16 bytes (it has " + std::to_string(secret->size()) +
             ")";
      return false;
    }
  } else if (const char* env = std::getenv("ROOMCAST_JWT_SECRET"); env && *env) {
    *secret = env;
  }
  if (!cfg.jwt_public_key_file.empty() && !ReadKeyFile(cfg.jwt_public_key_file, pem, err)) {
    *err = "--jwt-public-key-file " + *err;
    return false;
  }
  return true;
}

std::string AlgorithmsOf(const auth::TokenKeys& k) {
  std::string algs;
  if (k.Has(auth::Alg::kHs256)) algs += " HS256";
  if (k.Has(auth::Alg::kRs256)) algs += " RS256";
  if (k.Has(auth::Alg::kEs256)) algs += " ES256";
  return algs;
}

uint64_t DigestOf(const std::string& secret, const std::string& pem) {
  return std::hash<std::string>{}(secret + '\0' + pem);
}

}  // namespace

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
  const uint64_t digest = DigestOf(secret, pem);
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
  const uint64_t digest = DigestOf(secret, pem);
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
