// JSON Web Tokens (auth::TokenVerifier) over arbitrary bytes. The first byte chooses what the rest
// is: a whole token as a client sends it, or a payload (or a header) that the target signs with
// the server's HS256 secret, so the claim readers are reached past the signature check. A token
// that is accepted names a user within the protocol's rules, is not expired, and a re-signed copy
// of an accepted payload is accepted again with the same user.
#include <string>
#include <string_view>

#include "auth/base64url.h"
#include "auth/token_verifier.h"
#include "base/utf8.h"
#include "fuzz_check.h"

using roomcast::auth::EncodeBase64Url;
using roomcast::auth::HmacSha256;
using roomcast::auth::Identity;
using roomcast::auth::TokenError;
using roomcast::auth::TokenKeys;
using roomcast::auth::TokenVerifier;

namespace {

constexpr std::string_view kSecret = "fuzz-secret-0123456789";
constexpr int64_t kNow = 1'800'000'000;

bool IsId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Sign(std::string_view header, std::string_view payload) {
  std::string input = EncodeBase64Url(header) + "." + EncodeBase64Url(payload);
  return input + "." + EncodeBase64Url(HmacSha256(kSecret, input));
}

void CheckAccepted(const Identity& id) {
  FUZZ_CHECK(IsId(id.sub));
  FUZZ_CHECK(id.exp > kNow);
  FUZZ_CHECK(id.name.size() <= roomcast::auth::kMaxNameBytes);
  FUZZ_CHECK(roomcast::utf8::IsValid(id.name));
  FUZZ_CHECK(id.badges.size() <= roomcast::auth::kMaxBadges);
  FUZZ_CHECK(id.room_roles.size() <= roomcast::auth::kMaxRoomRoles);
  for (const auto& [room, roles] : id.room_roles) FUZZ_CHECK(IsId(room));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::string err;
  static auto keys = TokenKeys::Load(std::string(kSecret), "", &err);
  static TokenVerifier verifier(keys);
  roomcast::fuzz::ByteTaker in(data, size);
  const uint8_t mode = in.Byte() % 3;
  const std::string_view rest = in.Rest();
  std::string token;
  switch (mode) {
    case 0:
      token.assign(rest);
      break;
    case 1:
      token = Sign(R"({"alg":"HS256","typ":"JWT"})", rest);
      break;
    default:
      token = Sign(rest, R"({"sub":"fuzz","exp":1900000000})");
      break;
  }
  Identity id;
  std::string detail;
  const TokenError e = verifier.Verify(token, kNow, &id, &detail);
  if (e != TokenError::kNone) {
    FUZZ_CHECK(!detail.empty());
    return 0;
  }
  CheckAccepted(id);
  if (mode == 1) {
    Identity again;
    FUZZ_CHECK(verifier.Verify(Sign(R"({"alg":"HS256"})", rest), kNow, &again, &detail) ==
               TokenError::kNone);
    FUZZ_CHECK(again.sub == id.sub && again.roles == id.roles && again.badges == id.badges);
  }
  return 0;
}
