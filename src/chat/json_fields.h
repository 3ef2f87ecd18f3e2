// The field readers the client-op parsers share (client_op.cc, mod_op.cc): typed lookups in a
// simdjson object and the protocol's id and reason rules. Internal to chat/.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/utf8.h"
#include "chat/client_op.h"
#include "chat/mod_op.h"

namespace roomcast::chat::fields {

inline constexpr size_t kMaxIdBytes = 64;
inline constexpr size_t kMaxUtf8BytesPerCodePoint = 4;
inline constexpr size_t kMaxReasonCodePoints = 200;

inline OpError Fail(Refusal r, std::string message) {
  return {r, Describe(r).code, std::move(message)};
}

inline bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

inline bool IsIdOfAtMost(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (char c : s) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

enum class Field { kMissing, kWrongType, kPresent };

// Looks up key and reads it as a string; the view points into the parser and lives until the
// next parse.
inline Field GetString(const simdjson::dom::object& obj, std::string_view key,
                       std::string_view* value) {
  simdjson::dom::element element;
  if (obj.at_key(key).get(element) != simdjson::SUCCESS) return Field::kMissing;
  if (element.get_string().get(*value) != simdjson::SUCCESS) return Field::kWrongType;
  return Field::kPresent;
}

inline Field GetBool(const simdjson::dom::object& obj, std::string_view key, bool* value) {
  simdjson::dom::element element;
  if (obj.at_key(key).get(element) != simdjson::SUCCESS) return Field::kMissing;
  if (element.get_bool().get(*value) != simdjson::SUCCESS) return Field::kWrongType;
  return Field::kPresent;
}

// A whole number 0..max (JSON integer; 5.0 and "5" are refused).
inline Field GetUint(const simdjson::dom::object& obj, std::string_view key, uint64_t max,
                     uint64_t* value) {
  simdjson::dom::element element;
  if (obj.at_key(key).get(element) != simdjson::SUCCESS) return Field::kMissing;
  if (element.get_uint64().get(*value) != simdjson::SUCCESS || *value > max) {
    return Field::kWrongType;
  }
  return Field::kPresent;
}

// An optional "reason": at most 200 code points of UTF-8 without control characters.
inline OpError GetReason(const simdjson::dom::object& obj, std::string* out) {
  std::string_view reason;
  switch (GetString(obj, "reason", &reason)) {
    case Field::kMissing:
      return {};
    case Field::kWrongType:
      return Fail(Refusal::kBadRequest, "\"reason\" must be a string");
    case Field::kPresent:
      break;
  }
  if (!utf8::IsValid(reason) || utf8::HasForbiddenControl(reason) ||
      reason.size() > kMaxReasonCodePoints * kMaxUtf8BytesPerCodePoint ||
      utf8::CountCodePoints(reason) > kMaxReasonCodePoints) {
    return Fail(Refusal::kBadRequest,
                "\"reason\" must be at most 200 characters of UTF-8 without control characters");
  }
  out->assign(reason);
  return {};
}

}  // namespace roomcast::chat::fields

namespace roomcast::chat {
// The fields of one moderation act (mod_op.cc); "op" and unknown keys are ignored.
[[nodiscard]] OpError ParseModFields(const simdjson::dom::object& obj, ModAction action,
                                     ModOp* out);
}  // namespace roomcast::chat
