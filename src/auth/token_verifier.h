// Checks a JSON Web Token (compact form, HS256 / RS256 / ES256) and reads the user it names
// (PROTOCOL.md, "Identity"). One per shard: it owns a JSON parser. A connection's token is checked
// once, when it connects (and on {"op":"refresh"}), never per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/roles.h"
#include "auth/token_keys.h"

namespace roomcast::auth {

// Why a token was refused. Every one is answered 401 {"error":"unauthorized"} (close 4001 on an
// open WebSocket for kExpired); the text says which, for logs and the error's message.
enum class TokenError : uint8_t {
  kNone = 0,
  kTooLarge,     // over kMaxTokenBytes
  kMalformed,    // not three base64url parts, or a header / payload that is not a JSON object
  kAlgorithm,    // "none", an unknown "alg", "crit" headers, or an alg without a configured key
  kSignature,    // the signature does not match
  kExpired,      // now >= exp
  kNotYetValid,  // nbf or iat later than now + kLeewaySecs
  kClaims,       // a missing or malformed claim (sub, exp, name, roles, room_roles, badges)
};
[[nodiscard]] std::string_view Describe(TokenError e);

inline constexpr size_t kMaxTokenBytes = 8192;
inline constexpr int64_t kLeewaySecs = 30;
// Limits on what a token may carry (documented in docs/protocol.md).
inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxBadges = 8;
inline constexpr size_t kMaxBadgeBytes = 32;
inline constexpr size_t kMaxRoomRoles = 64;

class TokenVerifier {
 public:
  explicit TokenVerifier(std::shared_ptr<const TokenKeys> keys);
  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  // Checks `token` at Unix time now_s. kNone: *out is the user. Otherwise *detail says what was
  // wrong (for the log and the error message; never the token itself).
  TokenError Verify(std::string_view token, int64_t now_s, Identity* out, std::string* detail);
  // Swaps in reloaded keys (SIGHUP); tokens checked after use them.
  void SetKeys(std::shared_ptr<const TokenKeys> keys) { keys_ = std::move(keys); }

 private:
  struct Json;
  std::shared_ptr<const TokenKeys> keys_;
  std::unique_ptr<Json> json_;
};

// A signed HS256 token for `payload_json` (a JSON object): for `roomcast token` and tests.
[[nodiscard]] std::string MintHs256(std::string_view secret, std::string_view payload_json);

}  // namespace roomcast::auth
