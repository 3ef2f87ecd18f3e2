#include "owner/moderation.h"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "base/json_writer.h"

namespace roomcast::owner {

using chat::ModAction;

RoomRules* Moderation::Find(std::string_view room) {
  auto it = rooms_.find(std::string(room));
  return it == rooms_.end() ? nullptr : it->second.get();
}

RoomRules* Moderation::GetOrCreate(std::string_view room) {
  std::string key(room);
  auto it = rooms_.find(key);
  if (it != rooms_.end()) return it->second.get();
  if (rooms_.size() >= max_rooms_) return nullptr;
  return rooms_.emplace(std::move(key), std::make_unique<RoomRules>()).first->second.get();
}

std::string Moderation::ModesJson(const room::RoomModes& m) {
  std::string j = R"({"slow_secs":)";
  json::AppendUint(&j, m.slow_secs);
  j += R"(,"subscribers_only":)";
  j += m.subscribers_only ? "true" : "false";
  j += R"(,"emote_only":)";
  j += m.emote_only ? "true" : "false";
  j += R"(,"unique":)";
  j += m.unique ? "true" : "false";
  j += '}';
  return j;
}

std::string Moderation::ModesJsonOf(std::string_view room) {
  const RoomRules* rr = Find(room);
  return ModesJson(rr ? rr->rules.Modes() : room::RoomModes{});
}

bool Moderation::AdmitAct(RoomRules* rr, int64_t now_ms, uint64_t* retry_ms) {
  while (!rr->acts_ms.empty() && rr->acts_ms.front() + kActWindowMs <= now_ms) {
    rr->acts_ms.pop_front();
  }
  if (rr->acts_ms.size() >= kMaxActs) {
    *retry_ms = static_cast<uint64_t>(rr->acts_ms.front() + kActWindowMs - now_ms);
    return false;
  }
  rr->acts_ms.push_back(now_ms);
  return true;
}

void Moderation::Audit(RoomRules* rr, AuditEntry e) {
  rr->audit.push_back(std::move(e));
  while (rr->audit.size() > kMaxAudit) rr->audit.pop_front();
}

std::string Moderation::BansJson(std::string_view room, int64_t now_ms) {
  std::string j = R"({"room":)";
  json::AppendString(&j, room);
  j += R"(,"bans":[)";
  if (const RoomRules* rr = Find(room)) {
    bool first = true;
    for (const auto& [user, b] : rr->rules.Bans(static_cast<uint64_t>(now_ms))) {
      j += first ? "" : ",";
      first = false;
      j += R"({"user":)";
      json::AppendString(&j, user);
      j += R"(,"until":)";
      if (b.until_ms == 0) {
        j += "null";
      } else {
        json::AppendUint(&j, b.until_ms);
      }
      j += R"(,"shadow":)";
      j += b.shadow ? "true" : "false";
      j += '}';
    }
  }
  j += "]}";
  return j;
}

std::string Moderation::AuditJson(std::string_view room, uint32_t limit) {
  std::string j = R"({"room":)";
  json::AppendString(&j, room);
  j += R"(,"audit":[)";
  if (const RoomRules* rr = Find(room)) {
    size_t n = 0;
    for (auto it = rr->audit.rbegin(); it != rr->audit.rend() && n < limit; ++it, ++n) {
      j += n ? "," : "";
      j += R"({"ts":)";
      json::AppendInt(&j, it->ts_ms);
      j += R"(,"actor":)";
      json::AppendString(&j, it->actor);
      j += R"(,"action":)";
      json::AppendString(&j, it->action);
      j += R"(,"target":)";
      json::AppendString(&j, it->target);
      j += R"(,"reason":)";
      json::AppendString(&j, it->reason);
      if (it->seq) {
        j += R"(,"seq":)";
        json::AppendUint(&j, it->seq);
      }
      j += '}';
    }
  }
  j += "]}";
  return j;
}

std::string Moderation::ActJson(const chat::ModOp& op, const room::RoomModes& modes, uint64_t seq) {
  std::string j = R"({"act":)";
  json::AppendString(&j, chat::Name(op.action));
  if (!op.user.empty()) {
    j += R"(,"user":)";
    json::AppendString(&j, op.user);
  }
  if (op.action == ModAction::kBan) {
    j += R"(,"secs":)";
    json::AppendUint(&j, op.secs);
    j += op.shadow ? R"(,"shadow":true)" : "";
  }
  if (op.action == ModAction::kMode) {
    j += R"(,"modes":)";
    j += ModesJson(modes);
  }
  if (op.action == ModAction::kDelete) {
    j += R"(,"target":)";
    json::AppendUint(&j, op.seq);
  }
  if (seq) {
    j += R"(,"seq":)";
    json::AppendUint(&j, seq);
  }
  j += R"(,"reason":)";
  json::AppendString(&j, op.reason);
  j += '}';
  return j;
}

namespace {

bool ActionOf(std::string_view name, ModAction* out) {
  for (ModAction a : {ModAction::kBan, ModAction::kUnban, ModAction::kClear, ModAction::kMode,
                      ModAction::kDelete}) {
    if (name == chat::Name(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

std::string_view StringOr(const simdjson::dom::object& o, std::string_view key) {
  std::string_view v;
  return o.at_key(key).get_string().get(v) == simdjson::SUCCESS ? v : std::string_view{};
}

uint64_t UintOr(const simdjson::dom::object& o, std::string_view key) {
  uint64_t v = 0;
  return o.at_key(key).get_uint64().get(v) == simdjson::SUCCESS ? v : 0;
}

bool BoolOr(const simdjson::dom::object& o, std::string_view key) {
  bool v = false;
  return o.at_key(key).get_bool().get(v) == simdjson::SUCCESS && v;
}

}  // namespace

bool Moderation::Restore(std::string_view room, std::string_view actor, std::string_view json,
                         int64_t ts_ms, RestoredAct* out) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(json.data(), json.size()).get_object().get(o) != simdjson::SUCCESS) {
    return false;
  }
  ModAction action;
  if (!ActionOf(StringOr(o, "act"), &action)) return false;
  RoomRules* rr = GetOrCreate(room);
  if (!rr) return false;
  const std::string_view user = StringOr(o, "user");
  const auto now = static_cast<uint64_t>(ts_ms);
  switch (action) {
    case ModAction::kBan:
      rr->rules.Ban(user,
                    static_cast<uint32_t>(std::min<uint64_t>(UintOr(o, "secs"), room::kMaxBanSecs)),
                    BoolOr(o, "shadow"), now);
      break;
    case ModAction::kUnban:
      (void)rr->rules.Unban(user);
      break;
    case ModAction::kMode: {
      simdjson::dom::object m;
      if (o.at_key("modes").get_object().get(m) != simdjson::SUCCESS) return false;
      room::RoomModes modes;
      modes.slow_secs =
          static_cast<uint32_t>(std::min<uint64_t>(UintOr(m, "slow_secs"), room::kMaxSlowSecs));
      modes.subscribers_only = BoolOr(m, "subscribers_only");
      modes.emote_only = BoolOr(m, "emote_only");
      modes.unique = BoolOr(m, "unique");
      rr->rules.SetModes(modes);
      break;
    }
    default:
      break;
  }
  out->action = action;
  out->seq = UintOr(o, "seq");
  out->whole_room = action == ModAction::kClear && user.empty();
  std::string target(user);
  if (action == ModAction::kDelete) target = std::to_string(UintOr(o, "target"));
  if (action == ModAction::kMode || out->whole_room) target = room;
  Audit(rr, AuditEntry{ts_ms, std::string(actor), std::string(chat::Name(action)),
                       std::move(target), std::string(StringOr(o, "reason")), out->seq});
  return true;
}

void Moderation::Sweep(int64_t now_ms) {
  const auto now = static_cast<uint64_t>(now_ms);
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    RoomRules& rr = *it->second;
    rr.rules.Sweep(now, policy_);
    const bool idle = rr.audit.empty() && rr.rules.Modes() == room::RoomModes{} &&
                      !rr.rules.HasBans() && rr.rules.TrackedUsers() == 0 &&
                      rr.rules.TrackedTexts() == 0;
    it = idle ? rooms_.erase(it) : std::next(it);
  }
}

}  // namespace roomcast::owner
