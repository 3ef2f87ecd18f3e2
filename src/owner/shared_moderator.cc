// Moderator with --redis (docs/cluster.md, "Moderation"): a room's rules (bans and timeouts,
// modes, blocked terms) live in its Redis rules hash, every act changes them there through
// RoomSequencing::ChangeRule (which tells every node that follows the room), and the events an
// act makes (a retract, a `state`, a `clear`) are numbered by Redis like messages
// (RoomSequencing::PublishEvent), so that every node shows and hides the same things in one seq
// order. This node's copy of the rules is what Redis said last (ResetSharedRules after a read,
// ApplySharedRule for each change told, or made here: RoomSequencing::ChangeRule applies it);
// the publish script checks bans, the rate limit and slow mode itself. An act is answered once
// Redis has it: `unavailable` when Redis could not be reached, and then nothing of it was applied
// anywhere (an act whose later part failed, a ban's retractions, says so too; doing it again
// completes it). Held messages stay on the node that holds them; the audit is the acting node's.
// Owner shard thread only.
#include <charconv>
#include <memory>
#include <string>
#include <utility>

#include "auth/roles.h"
#include "base/decimal.h"
#include "base/log.h"
#include "owner/moderator.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

using chat::ModAction;
using chat::Refusal;

namespace {

constexpr int64_t kBanRetractWindowMs = 10 * 60 * 1000;  // as moderator.cc

// A ban's value in the rules hash: "<until Unix ms, 0: permanent> <shadow 0|1>".
std::string BanValue(uint64_t until_ms, bool shadow) {
  return std::to_string(until_ms) + (shadow ? " 1" : " 0");
}

// The modes' value: "<slow_secs> <subscribers_only> <emote_only> <unique>" (the publish script
// reads the first number).
std::string ModesValue(const room::RoomModes& m) {
  return std::to_string(m.slow_secs) + (m.subscribers_only ? " 1" : " 0") +
         (m.emote_only ? " 1" : " 0") + (m.unique ? " 1" : " 0");
}

bool ParseModes(std::string_view v, room::RoomModes* m) {
  uint64_t n[4];
  for (uint64_t& x : n) {
    if (!base::TakeU64(&v, &x)) return false;
  }
  m->slow_secs = static_cast<uint32_t>(std::min<uint64_t>(n[0], room::kMaxSlowSecs));
  m->subscribers_only = n[1] != 0;
  m->emote_only = n[2] != 0;
  m->unique = n[3] != 0;
  return true;
}

}  // namespace

bool Moderator::ParseTerms(std::string_view room, std::string_view value,
                           std::vector<chat::TermRule>* rules,
                           std::shared_ptr<const chat::TermSet>* compiled) {
  std::string error;
  if (chat::ParseTermList(value, chat::TermLimits{}, rules, &error) &&
      (*compiled = chat::TermSet::Compile(*rules, &error))) {
    return true;
  }
  RC_WARN(svc_.shard_, "redis: blocked terms of room %.*s not understood: %s",
          static_cast<int>(room.size()), room.data(), error.c_str());
  return false;
}

void Moderator::ResetSharedRules(std::string_view room,
                                 const std::vector<std::pair<std::string, std::string>>& fields) {
  if (room == chat::kGlobalRoom) {  // the server-wide terms: field t, or none
    std::string_view terms;
    for (const auto& [field, value] : fields) {
      if (field == "t") terms = value;
    }
    return ApplySharedRule(room, terms.empty() ? 'd' : 's', "t", terms);
  }
  RoomRules* rr = mod_.GetOrCreate(room);
  if (!rr) return;
  rr->rules.ClearBans();
  room::RoomModes m;
  m.auto_slow_secs = rr->rules.Modes().auto_slow_secs;
  rr->rules.SetModes(m);
  rr->terms.clear();
  rr->term_set = nullptr;
  for (const auto& [field, value] : fields) ApplySharedRule(room, 's', field, value);
}

void Moderator::ApplySharedRule(std::string_view room, char op, std::string_view field,
                                std::string_view value) {
  const bool set = op == 's';
  if (room == chat::kGlobalRoom) {
    // The server-wide blocked terms: the shard that owns "*" follows them, compiles them once
    // and hands the compiled set to the other shards (as a single node does).
    if (field != "t") return;
    mesh::ModerateReq copy;
    copy.room = chat::kGlobalRoom;
    copy.op.action = ModAction::kTerms;
    if (set && !ParseTerms(room, value, &copy.op.rules, &copy.op.compiled)) return;
    if (copy.op.rules.empty()) copy.op.compiled = nullptr;
    global_rules_ = copy.op.rules;
    global_terms_ = copy.op.compiled;
    copy.op.propagated = true;
    copy.by_admin_key = true;
    copy.actor = "redis";
    for (int s = 0; s < svc_.opt_.shards; ++s) {
      if (s != svc_.shard_) svc_.out_->Send(s, mesh::ModerateReq(copy));
    }
    return;
  }
  RoomRules* rr = mod_.GetOrCreate(room);
  if (!rr) return;
  if (field.starts_with("b:")) {
    const std::string_view user = field.substr(2);
    uint64_t until = 0, shadow = 0;
    if (!set) {
      (void)rr->rules.Unban(user);
    } else if (base::TakeU64(&value, &until) && base::TakeU64(&value, &shadow)) {
      rr->rules.RestoreBan(user, until, shadow != 0);
    }
  } else if (field == "m") {
    room::RoomModes m;
    m.auto_slow_secs = rr->rules.Modes().auto_slow_secs;
    if (set && !ParseModes(value, &m)) return;
    rr->rules.SetModes(m);
  } else if (field == "t") {
    std::vector<chat::TermRule> rules;
    std::shared_ptr<const chat::TermSet> compiled;
    if (set && !ParseTerms(room, value, &rules, &compiled)) return;
    rr->terms = std::move(rules);
    rr->term_set = rr->terms.empty() ? nullptr : std::move(compiled);
  }
}

void Moderator::OnModerateShared(int from, mesh::ModerateReq& req, uint64_t now_mono_ms) {
  const ModAction a = req.op.action;
  const bool read = a == ModAction::kListBans || a == ModAction::kAudit ||
                    a == ModAction::kGetTerms || a == ModAction::kHeld;
  // Reads answer from this node's copy (in step: the ask was held until it was); a deny only
  // drops a message this node holds.
  if (read || a == ModAction::kDeny) return OnModerate(from, req, now_mono_ms);
  auto p = std::make_shared<SharedAct>();
  p->from = from;
  p->ack.to = req.to;
  p->ack.http = req.http;
  p->ack.cors = req.cors;
  p->ack.op = chat::Name(a);
  room::OwnerRoom* r = svc_.rooms_.GetOrCreate(req.room);
  RoomRules* rr = r ? mod_.GetOrCreate(req.room) : nullptr;
  if (!req.by_admin_key && !auth::CanModerate(req.actor_roles)) {
    p->ack.refusal = Refusal::kForbidden;
  } else if (!rr) {
    p->ack.refusal = Refusal::kRoomLimit;
  } else if (!Moderation::AdmitAct(rr, req.ts_ms, &p->ack.retry_ms)) {
    p->ack.refusal = Refusal::kTooManyActs;
  }
  if (p->ack.refusal != Refusal::kNone) return svc_.out_->Send(from, std::move(p->ack));
  ShareAct(r, rr, req, p);
}

bool Moderator::Answered(const std::shared_ptr<SharedAct>& p, const SharedAnswer& ans,
                         Refusal no_such_field) {
  Refusal f = Refusal::kNone;
  if (ans.status == SharedAnswer::kUnavailable) f = Refusal::kRedisUnavailable;
  if (ans.status == SharedAnswer::kFull) f = Refusal::kTooManyBans;
  if (ans.status == SharedAnswer::kNoSuchField) f = no_such_field;
  if (f == Refusal::kNone) return true;
  p->ack.refusal = f;
  svc_.out_->Send(p->from, std::move(p->ack));
  return false;
}

void Moderator::Finish(const std::shared_ptr<SharedAct>& p, const mesh::ModerateReq& req,
                       uint64_t seq) {
  p->ack.seq = seq;
  if (p->failed) p->ack.refusal = Refusal::kRedisUnavailable;
  room::OwnerRoom* r = svc_.rooms_.GetOrCreate(req.room);
  RoomRules* rr = r ? mod_.GetOrCreate(req.room) : nullptr;
  if (rr && !p->failed) RecordAct(r, rr, req.actor, req.op, req.ts_ms, seq);
  svc_.out_->Send(p->from, std::move(p->ack));
  if (r) svc_.ReclaimIfEmpty(r);
}

void Moderator::ShareAct(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                         const std::shared_ptr<SharedAct>& p) {
  const chat::ModOp& op = req.op;
  RoomSequencing& seq = *svc_.sequencing_;
  const std::string& room = req.room;
  switch (op.action) {
    case ModAction::kBan:
      return ShareBan(r, req, p);
    case ModAction::kUnban:
      return seq.ChangeRule(room, "b:" + op.user, {}, true, {}, req.ts_ms,
                            [this, p, req](const SharedAnswer& ans) {
                              if (Answered(p, ans, Refusal::kNotBanned)) Finish(p, req, 0);
                            });
    case ModAction::kMode:
      return ShareModes(r, rr, req, p);
    case ModAction::kTerms:
      return seq.ChangeRule(room, "t", chat::TermListJson(op.rules), false, {}, req.ts_ms,
                            [this, p, req](const SharedAnswer& ans) {
                              if (Answered(p, ans, Refusal::kBadRequest)) Finish(p, req, 0);
                            });
    case ModAction::kClear:
      if (!op.user.empty()) {
        p->left = 1;  // the last call of RetractShared's loop
        return RetractShared(room, r->MessagesBy(room::UserTag(op.user), INT64_MIN), "cleared", req,
                             p);
      }
      return seq.PublishEvent(room, r->EventJson("clear", {}, 0, req.ts_ms), 'c', 0, req.ts_ms, {},
                              [this, p, req](const SharedAnswer& ans) {
                                if (Answered(p, ans, Refusal::kBadRequest)) Finish(p, req, ans.seq);
                              });
    case ModAction::kDelete:
      return RetractOneShared(r, op.seq, op.reason, req.ts_ms,
                              [this, p, req](Refusal f, uint64_t at) {
                                p->ack.refusal = f;
                                if (f == Refusal::kNone) return Finish(p, req, at);
                                svc_.out_->Send(p->from, std::move(p->ack));
                              });
    case ModAction::kAllow:
      return AllowShared(r, rr, req, p);
    default:
      break;
  }
  p->ack.refusal = Refusal::kBadRequest;
  svc_.out_->Send(p->from, std::move(p->ack));
}

void Moderator::ShareBan(room::OwnerRoom* r, const mesh::ModerateReq& req,
                         const std::shared_ptr<SharedAct>& p) {
  const chat::ModOp& op = req.op;
  const uint64_t until = op.secs ? static_cast<uint64_t>(req.ts_ms) + op.secs * 1000ull : 0;
  const std::string value = BanValue(until, op.shadow);
  // The user's recent messages (a shadow ban changes nothing anyone else sees), retracted once
  // the ban is in Redis, never before.
  std::vector<uint64_t> recent;
  if (!op.shadow) recent = r->MessagesBy(room::UserTag(op.user), req.ts_ms - kBanRetractWindowMs);
  svc_.sequencing_->ChangeRule(req.room, "b:" + op.user, value, false, {}, req.ts_ms,
                               [this, p, req, recent = std::move(recent)](const SharedAnswer& ans) {
                                 if (!Answered(p, ans, Refusal::kBadRequest)) return;
                                 p->left = 1;
                                 RetractShared(req.room, recent, "banned", req, p);
                               });
}

void Moderator::ShareModes(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                           const std::shared_ptr<SharedAct>& p) {
  const chat::ModOp& op = req.op;
  const room::RoomModes m = WithModes(rr->rules.Modes(), op);
  const std::string value = ModesValue(m);
  const std::string event = r->EventJson("state", svc_.StateFields(r, m), 0, req.ts_ms);
  svc_.sequencing_->ChangeRule(req.room, "m", value, false, event, req.ts_ms,
                               [this, p, req](const SharedAnswer& ans) {
                                 if (Answered(p, ans, Refusal::kBadRequest)) {
                                   Finish(p, req, ans.seq);
                                 }
                               });
}

// Retracts targets (numbered by Redis, pipelined); the act is answered after the last answer
// (p->left counts the caller's own share as 1).
void Moderator::RetractShared(const std::string& room, const std::vector<uint64_t>& targets,
                              std::string_view reason, const mesh::ModerateReq& req,
                              const std::shared_ptr<SharedAct>& p) {
  room::OwnerRoom* r = svc_.rooms_.Find(room);
  if (!r && !targets.empty()) p->failed = true;  // nothing retracted: answered unavailable
  for (uint64_t target : targets) {
    if (!r) break;
    ++p->left;
    RetractOneShared(r, target, reason, req.ts_ms, [this, p, req](Refusal f, uint64_t) {
      if (f == Refusal::kRedisUnavailable) p->failed = true;
      if (--p->left == 0) Finish(p, req, 0);
    });
  }
  if (--p->left == 0) Finish(p, req, 0);
}

void Moderator::RetractOneShared(room::OwnerRoom* r, uint64_t target, std::string_view reason,
                                 int64_t ts_ms, std::function<void(Refusal, uint64_t)> done) {
  const Refusal f = RetractRefusal(r->CheckRetract(target));
  if (f != Refusal::kNone) return done(f, 0);
  // Numbered once per target (the publish script's dedup key): a second retraction of it,
  // from this node or another, is told it was retracted already.
  svc_.sequencing_->PublishEvent(
      r->Name(), r->RetractJson(target, 0, reason, ts_ms), 'r', target, ts_ms,
      "x:" + std::to_string(target), [done = std::move(done)](const SharedAnswer& ans) {
        if (ans.status == SharedAnswer::kDone) return done(Refusal::kNone, ans.seq);
        done(ans.status == SharedAnswer::kDuplicate ? Refusal::kAlreadyRetracted
                                                    : Refusal::kRedisUnavailable,
             0);
      });
}

void Moderator::OnRetractShared(int from, mesh::RetractReq& req, mesh::AckReply&& ack) {
  room::OwnerRoom* r = svc_.rooms_.Find(req.room);
  if (!r) {
    ack.refusal = Refusal::kNoSuchMessage;
    return svc_.out_->Send(from, std::move(ack));
  }
  auto p = std::make_shared<SharedAct>();
  p->from = from;
  p->ack = std::move(ack);
  RetractOneShared(r, req.target, req.reason, req.ts_ms, [this, p, req](Refusal f, uint64_t at) {
    p->ack.refusal = f;
    p->ack.seq = at;
    room::OwnerRoom* room = svc_.rooms_.Find(req.room);
    RoomRules* rr = room && f == Refusal::kNone ? mod_.GetOrCreate(req.room) : nullptr;
    if (rr) {  // the audit record, as OwnerService::OnRetract
      chat::ModOp op;
      op.action = ModAction::kDelete;
      op.seq = req.target;
      op.reason = req.reason;
      RecordAct(room, rr, req.by, op, req.ts_ms, at);
    }
    svc_.out_->Send(p->from, std::move(p->ack));
  });
}

// A held message a moderator allows: numbered by Redis like any send (no gate: the moderator
// let it through), answered with its seq. Audited once numbered; one Redis did not number
// (unreachable, too late) is held again, with its id, for the moderator to allow again.
void Moderator::AllowShared(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                            const std::shared_ptr<SharedAct>& p) {
  auto m = std::make_shared<HeldMsg>();
  if (!Moderation::TakeHeld(rr, req.op.held_id, m.get())) {
    p->ack.refusal = Refusal::kNoSuchHeld;
    return svc_.out_->Send(p->from, std::move(p->ack));
  }
  room::PublishInput in{r->Name(), m->user, m->text, m->cid, req.ts_ms, svc_.now_ms_};
  in.name = m->name;
  in.badges_json = m->badges_json;
  in.roles = m->roles;
  in.ungated = true;
  svc_.sequencing_->Submit(p->from, r, in, std::move(p->ack), [this, m, req](bool numbered) {
    room::OwnerRoom* room = svc_.rooms_.Find(req.room);
    RoomRules* rules = room ? mod_.GetOrCreate(req.room) : nullptr;
    if (!rules) return;
    if (numbered) return RecordAct(room, rules, req.actor, req.op, req.ts_ms, 0);
    uint64_t id = 0;
    (void)Moderation::Hold(rules, std::move(*m), &id);
  });
}

}  // namespace roomcast::owner
