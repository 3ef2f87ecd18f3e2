// Reading the key material user tokens are checked with (key_files.h).
#include "auth/key_files.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace roomcast::auth {

constexpr size_t kMaxKeyFileBytes = 65536;

namespace {

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

}  // namespace

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

uint64_t KeyDigest(const std::string& secret, const std::string& pem) {
  return std::hash<std::string>{}(secret + '\0' + pem);
}

}  // namespace roomcast::auth
