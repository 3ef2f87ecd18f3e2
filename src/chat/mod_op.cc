// Parsing of moderation acts (mod_op.h): the fields of each act, shared by the WebSocket ops and
// the admin HTTP bodies.
#include "chat/mod_op.h"

#include "chat/json_fields.h"
#include "chat/mod_limits.h"

namespace roomcast::chat {

using fields::Fail;
using fields::Field;

std::string_view Name(ModAction a) {
  switch (a) {
    case ModAction::kBan:
      return "ban";
    case ModAction::kUnban:
      return "unban";
    case ModAction::kClear:
      return "clear";
    case ModAction::kMode:
      return "mode";
    case ModAction::kDelete:
      return "delete";
    case ModAction::kListBans:
      return "bans";
    case ModAction::kAudit:
      return "audit";
  }
  return "?";
}

namespace {

constexpr Refusal kBad = Refusal::kBadRequest;

OpError GetUser(const simdjson::dom::object& obj, bool required, std::string* out) {
  std::string_view user;
  switch (fields::GetString(obj, "user", &user)) {
    case Field::kMissing:
      if (required) return Fail(kBad, "missing \"user\"");
      return {};
    case Field::kWrongType:
      return Fail(kBad, "\"user\" must be a string");
    case Field::kPresent:
      break;
  }
  if (!fields::IsIdOfAtMost(user, fields::kMaxIdBytes)) {
    return Fail(kBad, "\"user\" must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  out->assign(user);
  return {};
}

OpError GetFlag(const simdjson::dom::object& obj, std::string_view key, std::optional<bool>* out) {
  bool b = false;
  switch (fields::GetBool(obj, key, &b)) {
    case Field::kMissing:
      return {};
    case Field::kWrongType:
      return Fail(kBad, "\"" + std::string(key) + "\" must be true or false");
    case Field::kPresent:
      *out = b;
      return {};
  }
  return {};
}

OpError ParseBan(const simdjson::dom::object& obj, ModOp* out) {
  if (OpError e = GetUser(obj, true, &out->user); !e.code.empty()) return e;
  uint64_t secs = 0;
  if (fields::GetUint(obj, "secs", kMaxBanSecs, &secs) == Field::kWrongType) {
    return Fail(kBad, "\"secs\" must be a whole number from 0 (permanent) to 1209600 (two weeks)");
  }
  out->secs = static_cast<uint32_t>(secs);
  if (fields::GetBool(obj, "shadow", &out->shadow) == Field::kWrongType) {
    return Fail(kBad, "\"shadow\" must be true or false");
  }
  return fields::GetReason(obj, &out->reason);
}

OpError ParseMode(const simdjson::dom::object& obj, ModOp* out) {
  uint64_t slow = 0;
  switch (fields::GetUint(obj, "slow_secs", kMaxSlowSecs, &slow)) {
    case Field::kMissing:
      break;
    case Field::kWrongType:
      return Fail(kBad, "\"slow_secs\" must be a whole number from 0 (off) to 86400");
    case Field::kPresent:
      out->modes.slow_secs = static_cast<uint32_t>(slow);
      break;
  }
  for (auto [key, field] :
       {std::pair{"subscribers_only", &out->modes.subscribers_only},
        std::pair{"emote_only", &out->modes.emote_only}, std::pair{"unique", &out->modes.unique}}) {
    if (OpError e = GetFlag(obj, key, field); !e.code.empty()) return e;
  }
  if (out->modes.Empty()) {
    return Fail(kBad,
                "a mode change needs at least one of slow_secs, subscribers_only, emote_only, "
                "unique");
  }
  return fields::GetReason(obj, &out->reason);
}

OpError ParseDelete(const simdjson::dom::object& obj, ModOp* out) {
  uint64_t seq = 0;
  if (fields::GetUint(obj, "seq", UINT64_MAX, &seq) != Field::kPresent || seq == 0) {
    return Fail(kBad, "\"seq\" must be a whole number from 1 (the message to delete)");
  }
  out->seq = seq;
  return fields::GetReason(obj, &out->reason);
}

}  // namespace

OpError ParseModFields(const simdjson::dom::object& obj, ModAction action, ModOp* out) {
  *out = ModOp{};
  out->action = action;
  switch (action) {
    case ModAction::kBan:
      return ParseBan(obj, out);
    case ModAction::kUnban:
      if (OpError e = GetUser(obj, true, &out->user); !e.code.empty()) return e;
      return fields::GetReason(obj, &out->reason);
    case ModAction::kClear:
      if (OpError e = GetUser(obj, false, &out->user); !e.code.empty()) return e;
      return fields::GetReason(obj, &out->reason);
    case ModAction::kMode:
      return ParseMode(obj, out);
    case ModAction::kDelete:
      return ParseDelete(obj, out);
    case ModAction::kListBans:
    case ModAction::kAudit:
      return {};
  }
  return {};
}

}  // namespace roomcast::chat
