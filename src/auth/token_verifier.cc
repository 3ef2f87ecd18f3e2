#include "auth/token_verifier.h"

#include <simdjson.h>

#include <cmath>
#include <utility>

#include "auth/base64url.h"
#include "base/utf8.h"

namespace roomcast::auth {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr size_t kMaxSubBytes = 64;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool IsId(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (char c : s) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

bool IsBadge(std::string_view s) {
  if (s.empty() || s.size() > kMaxBadgeBytes) return false;
  for (char c : s) {
    if (!IsIdChar(c) && c != '/') return false;
  }
  return true;
}

TokenError Fail(TokenError e, std::string* detail, std::string text) {
  *detail = std::move(text);
  return e;
}

// A NumericDate (RFC 7519): an integer or a number of seconds; false for anything else.
bool ReadSeconds(element e, int64_t* out) {
  int64_t i = 0;
  if (e.get_int64().get(i) == simdjson::SUCCESS) {
    *out = i;
    return true;
  }
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) && std::fabs(d) < 1e15) {
    *out = static_cast<int64_t>(std::floor(d));
    return true;
  }
  return false;
}

// A JSON array of role names as a set; false (with *detail) for anything else.
bool ReadRoles(element e, RoleSet* out, std::string* detail) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    *detail = "roles must be an array of role names";
    return false;
  }
  *out = 0;
  for (element item : arr) {
    std::string_view name;
    if (item.get_string().get(name) != simdjson::SUCCESS) {
      *detail = "roles must be an array of role names";
      return false;
    }
    std::optional<Role> r = ParseRole(name);
    if (!r) {
      *detail = "unknown role (subscriber, vip, moderator, broadcaster, admin)";
      return false;
    }
    *out |= Bit(*r);
  }
  return true;
}

TokenError ReadRoomRoles(element e, Identity* out, std::string* detail) {
  object rooms;
  if (e.get_object().get(rooms) != simdjson::SUCCESS) {
    return Fail(TokenError::kClaims, detail, "room_roles must be an object of room: [roles]");
  }
  for (auto field : rooms) {
    if (out->room_roles.size() == kMaxRoomRoles) {
      return Fail(TokenError::kClaims, detail, "room_roles names more than 64 rooms");
    }
    if (!IsId(field.key, kMaxSubBytes)) {
      return Fail(TokenError::kClaims, detail, "room_roles has a key that is not a room id");
    }
    RoleSet set = 0;
    if (!ReadRoles(field.value, &set, detail)) return TokenError::kClaims;
    out->room_roles.emplace_back(std::string(field.key), set);
  }
  return TokenError::kNone;
}

TokenError ReadBadges(element e, Identity* out, std::string* detail) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    return Fail(TokenError::kClaims, detail, "badges must be an array of strings");
  }
  for (element item : arr) {
    std::string_view b;
    if (item.get_string().get(b) != simdjson::SUCCESS || !IsBadge(b)) {
      return Fail(TokenError::kClaims, detail,
                  "each badge must be 1..32 bytes of letters, digits and _.:-/");
    }
    if (out->badges.size() == kMaxBadges) {
      return Fail(TokenError::kClaims, detail, "more than 8 badges");
    }
    out->badges.emplace_back(b);
  }
  return TokenError::kNone;
}

// sub, name, roles, room_roles, badges.
TokenError ReadUser(const object& claims, Identity* out, std::string* detail) {
  std::string_view sub;
  if (claims["sub"].get_string().get(sub) != simdjson::SUCCESS || !IsId(sub, kMaxSubBytes)) {
    return Fail(TokenError::kClaims, detail,
                "sub is required: 1..64 bytes of letters, digits and _.:-");
  }
  out->sub = sub;
  element e;
  if (claims["name"].get(e) == simdjson::SUCCESS) {
    std::string_view name;
    if (e.get_string().get(name) != simdjson::SUCCESS || name.size() > kMaxNameBytes ||
        !utf8::IsValid(name) || utf8::HasForbiddenControl(name)) {
      return Fail(TokenError::kClaims, detail,
                  "name must be a string of at most 128 bytes without control characters");
    }
    out->name = name;
  }
  if (claims["roles"].get(e) == simdjson::SUCCESS && !ReadRoles(e, &out->roles, detail)) {
    return TokenError::kClaims;
  }
  if (claims["room_roles"].get(e) == simdjson::SUCCESS) {
    if (TokenError r = ReadRoomRoles(e, out, detail); r != TokenError::kNone) return r;
  }
  if (claims["badges"].get(e) == simdjson::SUCCESS) {
    if (TokenError r = ReadBadges(e, out, detail); r != TokenError::kNone) return r;
  }
  return TokenError::kNone;
}

// exp (required), nbf and iat (honoured when present, with kLeewaySecs).
TokenError ReadTimes(const object& claims, int64_t now_s, Identity* out, std::string* detail) {
  element e;
  if (claims["exp"].get(e) != simdjson::SUCCESS || !ReadSeconds(e, &out->exp)) {
    return Fail(TokenError::kClaims, detail, "exp is required: a number of Unix seconds");
  }
  if (now_s >= out->exp) return Fail(TokenError::kExpired, detail, "the token has expired");
  for (const char* key : {"nbf", "iat"}) {
    if (claims[key].get(e) != simdjson::SUCCESS) continue;
    int64_t t = 0;
    if (!ReadSeconds(e, &t)) {
      return Fail(TokenError::kClaims, detail, std::string(key) + " must be a number of seconds");
    }
    if (t > now_s + kLeewaySecs) {
      return Fail(TokenError::kNotYetValid, detail,
                  std::string("the token is not valid yet (") + key + ")");
    }
  }
  return TokenError::kNone;
}

}  // namespace

struct TokenVerifier::Json {
  simdjson::dom::parser parser;
};

std::string_view Describe(TokenError e) {
  switch (e) {
    case TokenError::kNone:
      return "ok";
    case TokenError::kTooLarge:
      return "token too large";
    case TokenError::kMalformed:
      return "malformed token";
    case TokenError::kAlgorithm:
      return "algorithm not accepted";
    case TokenError::kSignature:
      return "bad signature";
    case TokenError::kExpired:
      return "token expired";
    case TokenError::kNotYetValid:
      return "token not valid yet";
    case TokenError::kClaims:
      return "bad claims";
  }
  return "bad token";
}

TokenVerifier::TokenVerifier(std::shared_ptr<const TokenKeys> keys)
    : keys_(std::move(keys)), json_(std::make_unique<Json>()) {}

TokenVerifier::~TokenVerifier() = default;

TokenError TokenVerifier::Verify(std::string_view token, int64_t now_s, Identity* out,
                                 std::string* detail) {
  *out = Identity{};
  if (token.size() > kMaxTokenBytes) {
    return Fail(TokenError::kTooLarge, detail, "the token is over 8192 bytes");
  }
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Fail(TokenError::kMalformed, detail, "a token has three dot-separated parts");
  }
  std::string header, payload, sig;
  if (!DecodeBase64Url(token.substr(0, dot1), &header) ||
      !DecodeBase64Url(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload) ||
      !DecodeBase64Url(token.substr(dot2 + 1), &sig)) {
    return Fail(TokenError::kMalformed, detail, "a part is not base64url");
  }
  object h;
  if (json_->parser.parse(header).get_object().get(h) != simdjson::SUCCESS) {
    return Fail(TokenError::kMalformed, detail, "the header is not a JSON object");
  }
  std::string_view alg_name;
  std::optional<Alg> alg;
  if (h["alg"].get_string().get(alg_name) == simdjson::SUCCESS) alg = ParseAlg(alg_name);
  if (!alg || !keys_ || !keys_->Has(*alg)) {
    return Fail(TokenError::kAlgorithm, detail, "alg must be one the server has a key for");
  }
  element unused;
  if (h["crit"].get(unused) == simdjson::SUCCESS) {
    return Fail(TokenError::kAlgorithm, detail, "crit headers are not supported");
  }
  if (!keys_->Verify(*alg, token.substr(0, dot2), sig)) {
    return Fail(TokenError::kSignature, detail, "the signature does not match");
  }
  object claims;
  if (json_->parser.parse(payload).get_object().get(claims) != simdjson::SUCCESS) {
    return Fail(TokenError::kMalformed, detail, "the payload is not a JSON object");
  }
  if (TokenError e = ReadTimes(claims, now_s, out, detail); e != TokenError::kNone) return e;
  return ReadUser(claims, out, detail);
}

std::string MintHs256(std::string_view secret, std::string_view payload_json) {
  std::string input = EncodeBase64Url(R"({"alg":"HS256","typ":"JWT"})");
  input += '.';
  input += EncodeBase64Url(payload_json);
  std::string mac = HmacSha256(secret, input);
  input += '.';
  input += EncodeBase64Url(mac);
  return input;
}

}  // namespace roomcast::auth
