// The keys tokens are checked with (PROTOCOL.md, "Identity"): an HS256 secret and/or one public
// key, RSA (RS256) or P-256 (ES256), in PEM. Loaded once at start-up (and on reload); immutable
// after, so every shard may check signatures with the same TokenKeys at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace roomcast::auth {

enum class Alg : unsigned char { kHs256, kRs256, kEs256 };

// "HS256" / "RS256" / "ES256"; anything else (including "none") is nullopt.
[[nodiscard]] std::optional<Alg> ParseAlg(std::string_view name);

class TokenKeys {
 public:
  // secret: the HS256 secret ("" for none); public_pem: one PEM public key ("" for none). At least
  // one must be given. Null with *error set when the PEM does not hold an RSA key of at least 2048
  // bits or a P-256 key.
  static std::shared_ptr<const TokenKeys> Load(std::string secret, std::string_view public_pem,
                                               std::string* error);
  ~TokenKeys();
  TokenKeys(const TokenKeys&) = delete;
  TokenKeys& operator=(const TokenKeys&) = delete;

  // A token signed with `alg` can be checked (a key for it is configured).
  [[nodiscard]] bool Has(Alg alg) const;
  // The signature of `signing_input` ("header.payload") is good. For ES256 the signature is the
  // raw 64-byte r||s of RFC 7518, not DER.
  [[nodiscard]] bool Verify(Alg alg, std::string_view signing_input,
                            std::string_view signature) const;

 private:
  TokenKeys() = default;
  std::string secret_;
  evp_pkey_st* pkey_ = nullptr;
  Alg pkey_alg_ = Alg::kRs256;
};

// The HS256 MAC (32 bytes) of `signing_input` with `secret`: for minting tokens (`roomcast token`)
// and tests.
[[nodiscard]] std::string HmacSha256(std::string_view secret, std::string_view signing_input);

}  // namespace roomcast::auth
