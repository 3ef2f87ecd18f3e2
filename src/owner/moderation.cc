#include "owner/moderation.h"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "base/json_writer.h"

namespace roomcast::owner {

using chat::ModAction;

RoomRules* Moderation::Find(std::string_view room) {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : it->second.get();
}

RoomRules* Moderation::GetOrCreate(std::string_view room) {
  auto it = rooms_.find(room);
  if (it != rooms_.end()) return it->second.get();
  if (rooms_.size() >= max_rooms_) return nullptr;
  return rooms_.emplace(std::string(room), std::make_unique<RoomRules>()).first->second.get();
}

std::string Moderation::ModesJson(const room::RoomModes& m) {
  std::string j = R"({"slow_secs":)";
  json::AppendUint(&j, m.SlowSecs());
  j += R"(,"subscribers_only":)";
  j += m.subscribers_only ? "true" : "false";
  j += R"(,"emote_only":)";
  j += m.emote_only ? "true" : "false";
  j += R"(,"unique":)";
  j += m.unique ? "true" : "false";
  if (m.AutoSlow()) j += R"(,"auto":true)";
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

std::string Moderation::TermsJson(std::string_view room) {
  const RoomRules* rr = Find(room);
  return chat::TermListJson(rr ? rr->terms : std::vector<chat::TermRule>{});
}

std::string Moderation::HeldJson(std::string_view room) {
  std::string j = R"({"room":)";
  json::AppendString(&j, room);
  j += R"(,"held":[)";
  if (const RoomRules* rr = Find(room)) {
    bool first = true;
    for (const HeldMsg& m : rr->held) {
      j += first ? "{" : ",{";
      first = false;
      AppendHeld(&j, m, /*whole=*/false);
      j += '}';
    }
  }
  j += "]}";
  return j;
}

bool Moderation::Hold(RoomRules* rr, HeldMsg m, uint64_t* id) {
  if (rr->held.size() >= kMaxHeld) return false;
  if (m.id == 0) m.id = rr->next_held;
  rr->next_held = std::max(rr->next_held, m.id + 1);
  *id = m.id;
  rr->held.push_back(std::move(m));
  return true;
}

bool Moderation::TakeHeld(RoomRules* rr, uint64_t id, HeldMsg* out) {
  for (auto it = rr->held.begin(); it != rr->held.end(); ++it) {
    if (it->id != id) continue;
    *out = std::move(*it);
    rr->held.erase(it);
    return true;
  }
  return false;
}

void Moderation::AppendHeld(std::string* j, const HeldMsg& m, bool whole) {
  *j += R"("id":)";
  json::AppendUint(j, m.id);
  *j += R"(,"user":)";
  json::AppendString(j, m.user);
  *j += R"(,"text":)";
  json::AppendString(j, m.text);
  *j += R"(,"ts":)";
  json::AppendInt(j, m.ts_ms);
  if (!whole) return;
  *j += R"(,"cid":)";
  json::AppendString(j, m.cid);
  *j += R"(,"name":)";
  json::AppendString(j, m.name);
  *j += R"(,"badges":)";
  *j += m.badges_json.empty() ? "null" : m.badges_json;
  *j += R"(,"roles":)";
  json::AppendUint(j, m.roles);
}

std::string Moderation::HoldJson(const HeldMsg& m) {
  std::string j = R"({"act":"hold",)";
  AppendHeld(&j, m, /*whole=*/true);
  j += '}';
  return j;
}

std::string Moderation::CheckpointJson(const RoomRules& rr, int64_t now_ms) {
  const auto bans = rr.rules.Bans(static_cast<uint64_t>(now_ms));
  if (bans.empty() && rr.rules.Modes() == room::RoomModes{} && rr.terms.empty() &&
      rr.held.empty()) {
    return {};
  }
  std::string j = R"({"act":"checkpoint","modes":)";
  j += ModesJson(rr.rules.Modes());
  j += R"(,"bans":[)";
  for (size_t i = 0; i < bans.size(); ++i) {
    j += i ? "," : "";
    j += R"({"user":)";
    json::AppendString(&j, bans[i].first);
    j += R"(,"until":)";
    json::AppendUint(&j, bans[i].second.until_ms);
    j += bans[i].second.shadow ? R"(,"shadow":true})" : "}";
  }
  j += R"(],"list":)";
  j += chat::TermListJson(rr.terms);
  j += R"(,"held":[)";
  for (size_t i = 0; i < rr.held.size(); ++i) {
    j += i ? ",{" : "{";
    AppendHeld(&j, rr.held[i], /*whole=*/true);  // with its own "ts": kept across checkpoints
    j += '}';
  }
  j += R"(],"next_held":)";
  json::AppendUint(&j, rr.next_held);
  j += '}';
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
  if (op.action == ModAction::kTerms) {
    j += R"(,"list":)";
    j += chat::TermListJson(op.rules);
  }
  if (op.action == ModAction::kAllow || op.action == ModAction::kDeny) {
    j += R"(,"id":)";
    json::AppendUint(&j, op.held_id);
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
                      ModAction::kDelete, ModAction::kTerms, ModAction::kAllow, ModAction::kDeny}) {
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

// The "modes" object of a record (ModesJson's shape) into the room's rules; false without one.
bool RestoreModes(const simdjson::dom::object& o, RoomRules* rr) {
  simdjson::dom::object m;
  if (o.at_key("modes").get_object().get(m) != simdjson::SUCCESS) return false;
  room::RoomModes modes;
  modes.slow_secs =
      static_cast<uint32_t>(std::min<uint64_t>(UintOr(m, "slow_secs"), room::kMaxSlowSecs));
  modes.subscribers_only = BoolOr(m, "subscribers_only");
  modes.emote_only = BoolOr(m, "emote_only");
  modes.unique = BoolOr(m, "unique");
  if (BoolOr(m, "auto")) std::swap(modes.slow_secs, modes.auto_slow_secs);  // automatic
  rr->rules.SetModes(modes);
  return true;
}

}  // namespace

bool Moderation::Restore(std::string_view room, std::string_view actor, std::string_view json,
                         int64_t ts_ms, RestoredAct* out) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(json.data(), json.size()).get_object().get(o) != simdjson::SUCCESS) {
    return false;
  }
  if (StringOr(o, "act") == "hold") return RestoreHold(room, o, ts_ms);
  if (StringOr(o, "act") == "checkpoint") return RestoreCheckpoint(room, o);
  ModAction action;
  if (!ActionOf(StringOr(o, "act"), &action)) return false;
  if (action == ModAction::kTerms && !RestoreTerms(o, out)) return false;
  if (room == chat::kGlobalRoom) {  // the server-wide terms: the owner keeps them
    out->action = action;
    return action == ModAction::kTerms;
  }
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
    case ModAction::kMode:
      if (!RestoreModes(o, rr)) return false;
      break;
    case ModAction::kTerms:
      rr->terms = std::move(out->rules);
      rr->term_set = std::move(out->compiled);
      break;
    case ModAction::kAllow:
    case ModAction::kDeny: {
      HeldMsg gone;
      (void)TakeHeld(rr, UintOr(o, "id"), &gone);
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
  if (action == ModAction::kAllow || action == ModAction::kDeny) {
    target = "held " + std::to_string(UintOr(o, "id"));
  }
  if (action == ModAction::kMode || action == ModAction::kTerms || out->whole_room) target = room;
  Audit(rr, AuditEntry{ts_ms, std::string(actor), std::string(chat::Name(action)),
                       std::move(target), std::string(StringOr(o, "reason")), out->seq});
  return true;
}

bool Moderation::RestoreTerms(const simdjson::dom::object& o, RestoredAct* out) {
  simdjson::dom::element list;
  if (o.at_key("list").get(list) != simdjson::SUCCESS) return false;
  std::string error;
  if (!chat::ParseTermList(simdjson::minify(list), chat::TermLimits{}, &out->rules, &error)) {
    return false;
  }
  out->compiled = chat::TermSet::Compile(out->rules, &error);
  return out->compiled != nullptr;
}

bool Moderation::RestoreCheckpoint(std::string_view room, const simdjson::dom::object& o) {
  RoomRules* rr = GetOrCreate(room);
  if (!rr) return false;
  RestoredAct terms;
  if (!RestoreTerms(o, &terms)) return false;
  rr->terms = std::move(terms.rules);
  rr->term_set = rr->terms.empty() ? nullptr : std::move(terms.compiled);
  (void)RestoreModes(o, rr);
  rr->rules.ClearBans();
  simdjson::dom::array list;
  if (o.at_key("bans").get_array().get(list) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : list) {
      simdjson::dom::object b;
      if (e.get_object().get(b) != simdjson::SUCCESS) continue;
      rr->rules.RestoreBan(StringOr(b, "user"), UintOr(b, "until"), BoolOr(b, "shadow"));
    }
  }
  rr->held.clear();
  if (o.at_key("held").get_array().get(list) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : list) {
      simdjson::dom::object h;
      int64_t ts = 0;
      if (e.get_object().get(h) != simdjson::SUCCESS) continue;
      if (h.at_key("ts").get_int64().get(ts) != simdjson::SUCCESS) continue;
      (void)RestoreHold(room, h, ts);
    }
  }
  rr->next_held = std::max<uint64_t>(rr->next_held, UintOr(o, "next_held"));
  return true;
}

bool Moderation::RestoreHold(std::string_view room, const simdjson::dom::object& o, int64_t ts_ms) {
  RoomRules* rr = GetOrCreate(room);
  if (!rr) return false;
  HeldMsg m;
  m.id = UintOr(o, "id");
  m.ts_ms = ts_ms;
  m.user = StringOr(o, "user");
  m.text = StringOr(o, "text");
  m.cid = StringOr(o, "cid");
  m.name = StringOr(o, "name");
  simdjson::dom::array badges;
  if (o.at_key("badges").get_array().get(badges) == simdjson::SUCCESS) {
    m.badges_json = simdjson::minify(badges);
  }
  m.roles = static_cast<uint8_t>(UintOr(o, "roles"));
  uint64_t id = 0;
  return m.id != 0 && Hold(rr, std::move(m), &id);
}

void Moderation::Sweep(int64_t now_ms) {
  const auto now = static_cast<uint64_t>(now_ms);
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    RoomRules& rr = *it->second;
    rr.rules.Sweep(now, policy_);
    while (!rr.held.empty() && rr.held.front().ts_ms + kHeldMs <= now_ms) rr.held.pop_front();
    const bool idle = rr.audit.empty() && rr.held.empty() && rr.terms.empty() &&
                      rr.rules.Modes() == room::RoomModes{} && !rr.rules.HasBans() &&
                      rr.rules.TrackedUsers() == 0 && rr.rules.TrackedTexts() == 0;
    it = idle ? rooms_.erase(it) : std::next(it);
  }
}

}  // namespace roomcast::owner
