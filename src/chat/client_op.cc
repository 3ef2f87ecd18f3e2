#include "chat/client_op.h"

#include <simdjson.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/utf8.h"
#include "chat/json_fields.h"

namespace roomcast::chat {
namespace {

constexpr Refusal kBadRequest = Refusal::kBadRequest;
constexpr Refusal kTooLarge = Refusal::kTooLarge;
constexpr size_t kMaxEmojiBytes = 32;
using fields::Fail;
using fields::IsIdOfAtMost;
using fields::kMaxIdBytes;
using fields::kMaxReasonCodePoints;
using fields::kMaxUtf8BytesPerCodePoint;
using Field = fields::Field;
constexpr Field kString = Field::kPresent;

Field GetString(const simdjson::dom::object& obj, std::string_view key, std::string_view* value) {
  return fields::GetString(obj, key, value);
}

void Reset(ClientOp* out) {
  // clear() rather than assigning a fresh ClientOp keeps the strings' capacity for reuse.
  out->kind = OpKind::kUnknown;
  out->text.clear();
  out->cid.clear();
  out->emoji.clear();
  out->token.clear();
  out->op_name.clear();
  out->user.clear();
  out->msg_kind.clear();
  out->prio = false;
}

constexpr size_t kMaxKindBytes = 32;

bool IsKind(std::string_view s) {
  if (s.empty() || s.size() > kMaxKindBytes) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// The "text" and "cid" fields shared by the WebSocket "send" op and the HTTP send body.
OpError ParseSendFields(const simdjson::dom::object& obj, const TextLimits& limits, ClientOp* out) {
  std::string_view text;
  switch (GetString(obj, "text", &text)) {
    case Field::kMissing:
      return Fail(kBadRequest, "missing \"text\"");
    case Field::kWrongType:
      return Fail(kBadRequest, "\"text\" must be a string");
    case kString:
      break;
  }
  if (text.empty()) return Fail(kBadRequest, "\"text\" is empty");
  // simdjson validates the document, but a \u escape can still produce a lone surrogate.
  if (!utf8::IsValid(text)) return Fail(kBadRequest, "\"text\" is not valid UTF-8");
  // Cheap byte bound first, so a huge text is refused without counting it.
  if (text.size() > size_t{limits.max_code_points} * kMaxUtf8BytesPerCodePoint ||
      utf8::CountCodePoints(text) > limits.max_code_points) {
    return Fail(kTooLarge, "\"text\" is longer than " + std::to_string(limits.max_code_points) +
                               " characters");
  }
  if (utf8::HasForbiddenControl(text)) {
    return Fail(kBadRequest, "\"text\" contains a control character (only \\n is allowed)");
  }
  std::string_view cid;
  switch (GetString(obj, "cid", &cid)) {
    case Field::kMissing:
      break;
    case Field::kWrongType:
      return Fail(kBadRequest, "\"cid\" must be a string");
    case kString:
      if (!IsIdOfAtMost(cid, limits.max_cid_bytes)) {
        return Fail(kBadRequest, "\"cid\" must be 1.." + std::to_string(limits.max_cid_bytes) +
                                     " bytes of [A-Za-z0-9_.:-]");
      }
      break;
  }
  out->kind = OpKind::kSend;
  out->text.assign(text);
  out->cid.assign(cid);
  return {};
}

// The priority lane is for server-side publishes only.
OpError RefuseClientPrio(const simdjson::dom::object& obj) {
  simdjson::dom::element ignored;
  if (obj.at_key("prio").get(ignored) == simdjson::SUCCESS) {
    return Fail(Refusal::kForbidden,
                "\"prio\" is for server-side publishes (POST /admin/rooms/R/publish)");
  }
  return {};
}

OpError ParseReactFields(const simdjson::dom::object& obj, ClientOp* out) {
  std::string_view emoji;
  if (GetString(obj, "emoji", &emoji) != kString || emoji.empty() ||
      emoji.size() > kMaxEmojiBytes) {
    return Fail(kBadRequest, "\"emoji\" must be a string of 1..32 bytes");
  }
  // The emoji is echoed to the whole room as a JSON key: same hygiene as message text.
  if (!utf8::IsValid(emoji) || utf8::HasForbiddenControl(emoji)) {
    return Fail(kBadRequest, "\"emoji\" must be valid UTF-8 without control characters");
  }
  out->kind = OpKind::kReact;
  out->emoji.assign(emoji);
  return {};
}

// {"op":"refresh","token":"<jwt>"}: the token is checked by the caller (auth::TokenVerifier);
// here only that it is a non-empty string (its size limit is the verifier's, 8 KB).
OpError ParseRefreshFields(const simdjson::dom::object& obj, ClientOp* out) {
  std::string_view token;
  if (GetString(obj, "token", &token) != kString || token.empty()) {
    return Fail(kBadRequest, "\"token\" must be a non-empty string");
  }
  out->kind = OpKind::kRefresh;
  out->token.assign(token);
  return {};
}

// The moderation ops a WebSocket client may send.
std::optional<ModAction> WsModAction(std::string_view op) {
  for (ModAction a : {ModAction::kBan, ModAction::kUnban, ModAction::kClear, ModAction::kMode,
                      ModAction::kDelete}) {
    if (op == Name(a)) return a;
  }
  return std::nullopt;
}

}  // namespace

struct ClientOpParser::Impl {
  simdjson::dom::parser parser;
  // The input copied with SIMDJSON_PADDING readable bytes after it, as simdjson requires. Kept
  // between calls so that steady-state parsing does not allocate.
  std::vector<char> padded;

  // Parses json into a top-level object, or returns the error to send.
  OpError ParseObject(std::string_view json, simdjson::dom::object* obj) {
    if (padded.size() < json.size() + simdjson::SIMDJSON_PADDING) {
      padded.resize(json.size() + simdjson::SIMDJSON_PADDING);
    }
    if (!json.empty()) std::memcpy(padded.data(), json.data(), json.size());
    std::memset(padded.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    simdjson::dom::element doc;
    const simdjson::error_code err =
        parser.parse(padded.data(), json.size(), /*realloc_if_needed=*/false).get(doc);
    if (err != simdjson::SUCCESS) {
      return Fail(kBadRequest, std::string("invalid JSON: ") + simdjson::error_message(err));
    }
    if (doc.get_object().get(*obj) != simdjson::SUCCESS) {
      return Fail(kBadRequest, "expected a JSON object");
    }
    return {};
  }
};

ClientOpParser::ClientOpParser() : impl_(std::make_unique<Impl>()) {}
ClientOpParser::~ClientOpParser() = default;

OpError ClientOpParser::ParseWsOp(std::string_view json, const TextLimits& limits, ClientOp* out) {
  Reset(out);
  simdjson::dom::object obj;
  if (OpError e = impl_->ParseObject(json, &obj); !e.code.empty()) return e;
  std::string_view op;
  switch (GetString(obj, "op", &op)) {
    case Field::kMissing:
      return Fail(kBadRequest, "missing \"op\"");
    case Field::kWrongType:
      return Fail(kBadRequest, "\"op\" must be a string");
    case kString:
      break;
  }
  out->op_name.assign(op);
  if (op == "send") {
    if (OpError e = RefuseClientPrio(obj); !e.code.empty()) return e;
    return ParseSendFields(obj, limits, out);
  }
  if (op == "react") return ParseReactFields(obj, out);
  if (op == "refresh") return ParseRefreshFields(obj, out);
  if (op == "ping") {
    out->kind = OpKind::kPing;
  } else if (const std::optional<ModAction> act = WsModAction(op)) {
    out->kind = OpKind::kModerate;
    return ParseModFields(obj, *act, &out->mod);
  }
  return {};  // an unknown op stays kUnknown: the caller answers it
}

OpError ClientOpParser::ParseHttpSend(std::string_view json, const TextLimits& limits,
                                      ClientOp* out) {
  Reset(out);
  simdjson::dom::object obj;
  if (OpError e = impl_->ParseObject(json, &obj); !e.code.empty()) return e;
  if (OpError e = RefuseClientPrio(obj); !e.code.empty()) return e;
  return ParseSendFields(obj, limits, out);
}

OpError ClientOpParser::ParseAdminPublish(std::string_view json, const TextLimits& limits,
                                          ClientOp* out) {
  Reset(out);
  simdjson::dom::object obj;
  if (OpError e = impl_->ParseObject(json, &obj); !e.code.empty()) return e;
  if (OpError e = ParseSendFields(obj, limits, out); !e.code.empty()) return e;
  std::string_view user = "system";
  if (GetString(obj, "user", &user) == Field::kWrongType || !IsIdOfAtMost(user, kMaxIdBytes)) {
    return Fail(kBadRequest, "\"user\" must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  out->user.assign(user);
  std::string_view kind;
  switch (GetString(obj, "kind", &kind)) {
    case Field::kMissing:
      break;
    case Field::kWrongType:
      return Fail(kBadRequest, "\"kind\" must be a string");
    case kString:
      if (!IsKind(kind)) return Fail(kBadRequest, "\"kind\" must be 1..32 bytes of [a-z0-9_-]");
      out->msg_kind.assign(kind);
      break;
  }
  simdjson::dom::element prio;
  if (obj.at_key("prio").get(prio) == simdjson::SUCCESS) {
    bool b = false;
    int64_t n = 0;
    if (prio.get_bool().get(b) == simdjson::SUCCESS) {
      out->prio = b;
    } else if (prio.get_int64().get(n) == simdjson::SUCCESS && (n == 0 || n == 1)) {
      out->prio = n == 1;
    } else {
      return Fail(kBadRequest, "\"prio\" must be true, false, 1 or 0");
    }
  }
  return {};
}

OpError ClientOpParser::ParseModBody(std::string_view json, ModAction action, ModOp* out) {
  simdjson::dom::object obj;
  if (OpError e = impl_->ParseObject(json.empty() ? std::string_view("{}") : json, &obj);
      !e.code.empty()) {
    return e;
  }
  return ParseModFields(obj, action, out);
}

OpError ClientOpParser::ParseRetract(std::string_view json, RetractBody* out) {
  out->reason.clear();
  out->by = "admin";
  if (json.empty()) return {};
  simdjson::dom::object obj;
  if (OpError e = impl_->ParseObject(json, &obj); !e.code.empty()) return e;
  std::string_view reason, by;
  switch (GetString(obj, "reason", &reason)) {
    case Field::kMissing:
      break;
    case Field::kWrongType:
      return Fail(kBadRequest, "\"reason\" must be a string");
    case kString:
      if (!utf8::IsValid(reason) || utf8::HasForbiddenControl(reason) ||
          reason.size() > kMaxReasonCodePoints * kMaxUtf8BytesPerCodePoint ||
          utf8::CountCodePoints(reason) > kMaxReasonCodePoints) {
        return Fail(
            kBadRequest,
            "\"reason\" must be at most 200 characters of UTF-8 without control characters");
      }
      out->reason.assign(reason);
      break;
  }
  switch (GetString(obj, "by", &by)) {
    case Field::kMissing:
      break;
    case Field::kWrongType:
      return Fail(kBadRequest, "\"by\" must be a string");
    case kString:
      if (!IsIdOfAtMost(by, kMaxIdBytes)) {
        return Fail(kBadRequest, "\"by\" must be 1..64 bytes of [A-Za-z0-9_.:-]");
      }
      out->by.assign(by);
      break;
  }
  return {};
}

bool IsValidRoomId(std::string_view room) { return IsIdOfAtMost(room, kMaxIdBytes); }

bool IsValidUserName(std::string_view user) { return IsIdOfAtMost(user, kMaxIdBytes); }

}  // namespace roomcast::chat
