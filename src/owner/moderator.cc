// Moderator (moderator.h): the checks before a user's message is sequenced, and the moderators'
// acts (bans, timeouts, modes, clears, deletes, terms, allow, deny), each applied on the room's
// owner, written to the EventLog as a control record, audited, and announced to the room as an
// event where viewers must see it. Owner shard thread only.
#include "owner/moderator.h"

#include <time.h>

#include <string>
#include <utility>

#include "auth/roles.h"
#include "base/json_writer.h"
#include "base/log.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

Moderator::Moderator(OwnerService* svc, const room::ModPolicy& policy, size_t max_rooms)
    : svc_(*svc), mod_(policy, max_rooms) {}

using chat::ModAction;
using chat::Refusal;

room::RoomModes WithModes(room::RoomModes m, const chat::ModOp& op) {
  if (op.modes.slow_secs) m.slow_secs = *op.modes.slow_secs;
  if (op.modes.slow_secs && *op.modes.slow_secs == 0) m.auto_slow_secs = 0;
  if (op.modes.subscribers_only) m.subscribers_only = *op.modes.subscribers_only;
  if (op.modes.emote_only) m.emote_only = *op.modes.emote_only;
  if (op.modes.unique) m.unique = *op.modes.unique;
  return m;
}

namespace {

// A ban retracts the user's messages of the last ten minutes (PROTOCOL.md, "Moderation").
constexpr int64_t kBanRetractWindowMs = 10 * 60 * 1000;

}  // namespace

Moderator::SenderCheck Moderator::CheckSender(int from, mesh::PublishReq& req,
                                              mesh::AckReply* ack) {
  RoomRules* rr = mod_.GetOrCreate(req.room);
  if (!rr) {
    ack->refusal = Refusal::kRoomLimit;
    svc_.out_->Send(from, std::move(*ack));
    return SenderCheck::kRefused;
  }
  const auto now = static_cast<uint64_t>(req.ts_ms);
  // --redis: the publish script checks bans, the rate limit and slow mode over every node (this
  // copy may lag an unban told elsewhere, and counts only this node's sends).
  const bool gated_in_redis = svc_.sequencing_ != nullptr;
  const room::SendCheck check =
      rr->rules.CheckSend(req.user, req.roles, req.text, now, mod_.Policy(), gated_in_redis);
  if (check.refusal != Refusal::kNone) {
    OwnerCounters::Add(svc_.counters_.refused, 1);
    ack->refusal = check.refusal;
    ack->retry_ms = check.retry_ms;
    svc_.out_->Send(from, std::move(*ack));
    return SenderCheck::kRefused;
  }
  const chat::TermVerdict terms = ScanTerms(*rr, req.text);
  if (terms.matched && terms.action == chat::TermAction::kReject) {
    OwnerCounters::Add(svc_.counters_.refused, 1);
    ack->refusal = Refusal::kBlockedTerm;
    svc_.out_->Send(from, std::move(*ack));
    return SenderCheck::kRefused;
  }
  if (terms.matched && terms.action == chat::TermAction::kHold && !check.shadow) {
    return Hold(from, rr, req, ack);
  }
  if (terms.matched && terms.action == chat::TermAction::kMask) {
    req.text = terms.masked;
    ack->masked = true;
  }
  rr->rules.NoteAccepted(req.user, req.roles, req.text, now, mod_.Policy(), gated_in_redis);
  return check.shadow ? SenderCheck::kShadow : SenderCheck::kGo;
}

chat::TermVerdict Moderator::ScanTerms(const RoomRules& rr, std::string_view text) {
  chat::TermVerdict v;
  if (rr.term_set && !rr.term_set->Empty()) v = scratch_.Scan(*rr.term_set, text);
  if (global_terms_ && !global_terms_->Empty()) {
    const bool masked = v.matched && v.action == chat::TermAction::kMask;
    chat::TermVerdict g = scratch_.Scan(*global_terms_, masked ? std::string_view(v.masked) : text);
    if (g.matched && (!v.matched || g.action >= v.action)) v = std::move(g);
  }
  return v;
}

Moderator::SenderCheck Moderator::Hold(int from, RoomRules* rr, mesh::PublishReq& req,
                                       mesh::AckReply* ack) {
  HeldMsg m{0, req.ts_ms, req.user, req.text, req.cid, req.name, req.badges_json, req.roles};
  const std::string room = req.room;
  if (!Moderation::Hold(rr, std::move(m), &ack->held_id)) {
    ack->refusal = Refusal::kBlockedTerm;  // the queue is full: nobody could allow it in time
    svc_.out_->Send(from, std::move(*ack));
    return SenderCheck::kRefused;
  }
  room::OwnerRoom* r = svc_.rooms_.GetOrCreate(room);
  if (r) svc_.log_->AppendControl(r, req.user, Moderation::HoldJson(rr->held.back()), req.ts_ms);
  svc_.log_->SendAfterWritten(from, std::move(*ack));
  if (r) svc_.ReclaimIfEmpty(r);
  return SenderCheck::kHeld;
}

void Moderator::OnGlobalTerms(int from, mesh::ModerateReq& req, mesh::AckReply&& ack) {
  global_rules_ = req.op.rules;
  global_terms_ = req.op.compiled;
  if (req.op.propagated) return;
  room::OwnerRoom* r = svc_.rooms_.GetOrCreate(req.room);
  if (r) {
    chat::ModOp op = req.op;
    op.compiled = nullptr;
    svc_.log_->AppendControl(r, req.actor, Moderation::ActJson(op, {}, 0), req.ts_ms);
  }
  for (int s = 0; s < svc_.opt_.shards; ++s) {
    if (s == svc_.shard_) continue;
    mesh::ModerateReq copy = req;
    copy.op.propagated = true;
    svc_.out_->Send(s, std::move(copy));
  }
  RC_INFO(svc_.shard_, "moderation: server-wide blocked terms set by %s (%zu rules)",
          req.actor.c_str(), global_rules_.size());
  svc_.log_->SendAfterWritten(from, std::move(ack));
  if (r) svc_.ReclaimIfEmpty(r);
}

void Moderator::AnswerShadow(int from, room::OwnerRoom* r, const room::PublishInput& in,
                             mesh::AckReply&& ack) {
  // Nothing is sequenced: the sender is told its message went out (at the head seq, which it
  // already has or will get) and the user's own viewers of the room see it; nobody else ever
  // does.
  OwnerCounters::Add(svc_.counters_.refused, 1);
  room::PublishInput echo = in;
  std::string id = in.cid.empty() ? "shadow-" + std::to_string(in.ts_ms) : std::string(in.cid);
  echo.cid = id;
  echo.cid_taken = false;
  ack.seq = r->LastSeq();
  ack.id = id;
  const std::string json = r->RenderMessage(echo, ack.seq);
  const auto& per_shard = r->PerShard();
  for (int s = 0; s < svc_.opt_.shards; ++s) {
    if (per_shard[static_cast<size_t>(s)] == 0) continue;
    svc_.log_->SendAfterWritten(s, mesh::ShadowEcho{r->Name(), std::string(in.user), json});
  }
  svc_.log_->SendAfterWritten(from, std::move(ack));
}

void Moderator::OnModerate(int from, mesh::ModerateReq& req, uint64_t now_mono_ms) {
  mesh::AckReply ack;
  ack.to = req.to;
  ack.http = req.http;
  ack.cors = req.cors;
  ack.op = chat::Name(req.op.action);
  if (!req.by_admin_key && !auth::CanModerate(req.actor_roles)) {
    ack.refusal = Refusal::kForbidden;
    return svc_.out_->Send(from, std::move(ack));
  }
  switch (req.op.action) {
    case ModAction::kListBans:
      ack.body = mod_.BansJson(req.room, req.ts_ms);
      return svc_.out_->Send(from, std::move(ack));
    case ModAction::kAudit:
      ack.body = mod_.AuditJson(req.room, req.op.limit);
      return svc_.out_->Send(from, std::move(ack));
    case ModAction::kGetTerms:
      ack.body = req.room == chat::kGlobalRoom ? chat::TermListJson(global_rules_)
                                               : mod_.TermsJson(req.room);
      return svc_.out_->Send(from, std::move(ack));
    case ModAction::kHeld:
      ack.body = mod_.HeldJson(req.room);
      return svc_.out_->Send(from, std::move(ack));
    case ModAction::kTerms:
      if (req.room != chat::kGlobalRoom) break;
      if (!svc_.log_->Writable() && !req.op.propagated) {
        ack.refusal = Refusal::kLogFailed;
        return svc_.out_->Send(from, std::move(ack));
      }
      return OnGlobalTerms(from, req, std::move(ack));
    default:
      break;
  }
  room::OwnerRoom* r = svc_.log_->Writable() ? svc_.rooms_.GetOrCreate(req.room) : nullptr;
  RoomRules* rr = r ? mod_.GetOrCreate(req.room) : nullptr;
  if (!rr) {
    ack.refusal = svc_.log_->Writable() ? Refusal::kRoomLimit : Refusal::kLogFailed;
    return svc_.out_->Send(from, std::move(ack));
  }
  if (!Moderation::AdmitAct(rr, req.ts_ms, &ack.retry_ms)) {
    ack.refusal = Refusal::kTooManyActs;
    return svc_.out_->Send(from, std::move(ack));
  }
  ack.refusal = ApplyAct(r, rr, req, now_mono_ms, &ack.seq);
  if (ack.refusal != Refusal::kNone) return svc_.out_->Send(from, std::move(ack));
  RecordAct(r, rr, req.actor, req.op, req.ts_ms, ack.seq);
  svc_.log_->SendAfterWritten(from, std::move(ack));
  svc_.ReclaimIfEmpty(r);
}

Refusal Moderator::ApplyAct(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                            uint64_t mono_ms, uint64_t* seq) {
  const chat::ModOp& op = req.op;
  const bool visible = !svc_.log_->Deferred();
  switch (op.action) {
    case ModAction::kBan:
      rr->rules.Ban(op.user, op.secs, op.shadow, static_cast<uint64_t>(req.ts_ms));
      // A shadow ban changes nothing anyone else sees: the past stays as it was.
      if (!op.shadow) RetractBy(r, op.user, req.ts_ms - kBanRetractWindowMs, req, mono_ms);
      return Refusal::kNone;
    case ModAction::kUnban:
      return rr->rules.Unban(op.user) ? Refusal::kNone : Refusal::kNotBanned;
    case ModAction::kMode: {
      const room::RoomModes m = WithModes(rr->rules.Modes(), op);
      rr->rules.SetModes(m);
      *seq = SequenceAndForward(r, "state", svc_.StateFields(r, m), req, mono_ms, visible);
      return Refusal::kNone;
    }
    case ModAction::kClear:
      if (!op.user.empty()) {
        RetractBy(r, op.user, INT64_MIN, req, mono_ms);
        return Refusal::kNone;
      }
      *seq = SequenceAndForward(r, "clear", {}, req, mono_ms, visible);
      r->HideBefore(*seq);
      return Refusal::kNone;
    case ModAction::kDelete:
      return svc_.RetractOne(r, op.seq, op.reason, req.actor, req.ts_ms, mono_ms, seq);
    case ModAction::kTerms:
      rr->terms = op.rules;
      rr->term_set = op.compiled;
      return Refusal::kNone;
    case ModAction::kAllow:
    case ModAction::kDeny: {
      HeldMsg m;
      if (!Moderation::TakeHeld(rr, op.held_id, &m)) return Refusal::kNoSuchHeld;
      if (op.action == ModAction::kAllow)
        *seq = svc_.SequenceAllowed(r, std::move(m), req.ts_ms, mono_ms);
      return Refusal::kNone;
    }
    case ModAction::kListBans:
    case ModAction::kAudit:
    case ModAction::kGetTerms:
    case ModAction::kHeld:
      break;
  }
  return Refusal::kBadRequest;
}

uint64_t Moderator::SequenceAndForward(room::OwnerRoom* r, std::string_view type,
                                       std::string_view fields, const mesh::ModerateReq& req,
                                       uint64_t mono_ms, bool visible) {
  const room::SequencedMsg& ev = r->SequenceEvent(type, fields, req.ts_ms, mono_ms, visible);
  svc_.log_->Append(r, ev, req.actor, {}, 0, req.ts_ms);
  svc_.Forward(r, ev);
  return ev.seq;
}

void Moderator::RetractBy(room::OwnerRoom* r, std::string_view user, int64_t since_ms,
                          const mesh::ModerateReq& req, uint64_t mono_ms) {
  const std::string reason = req.op.action == ModAction::kBan ? "banned" : "cleared";
  for (uint64_t target : r->MessagesBy(room::UserTag(user), since_ms)) {
    uint64_t ignored = 0;
    (void)svc_.RetractOne(r, target, reason, req.actor, req.ts_ms, mono_ms, &ignored);
  }
}

void Moderator::RecordAct(room::OwnerRoom* r, RoomRules* rr, std::string_view actor,
                          const chat::ModOp& op, int64_t ts_ms, uint64_t seq) {
  const std::string act = Moderation::ActJson(op, rr->rules.Modes(), seq);
  svc_.log_->AppendControl(r, actor, act, ts_ms);
  std::string target = op.user;
  if (op.action == ModAction::kDelete) target = std::to_string(op.seq);
  if (op.action == ModAction::kAllow || op.action == ModAction::kDeny) {
    target = "held " + std::to_string(op.held_id);
  }
  if (op.action == ModAction::kMode || op.action == ModAction::kTerms ||
      (op.action == ModAction::kClear && op.user.empty())) {
    target = r->Name();
  }
  Moderation::Audit(rr, AuditEntry{ts_ms, std::string(actor), std::string(chat::Name(op.action)),
                                   std::move(target), op.reason, seq});
  if (op.action == ModAction::kTerms) {  // the list itself may be 500 KB: its size only
    RC_INFO(svc_.shard_, "moderation room=%s actor=%s terms: %zu rules", r->Name().c_str(),
            std::string(actor).c_str(), op.rules.size());
    return;
  }
  RC_INFO(svc_.shard_, "moderation room=%s actor=%s %s", r->Name().c_str(),
          std::string(actor).c_str(), act.c_str());
}

void Moderator::OnSecond(int64_t now_unix_ms) { mod_.Sweep(now_unix_ms); }

void Moderator::CheckpointModeration() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  size_t rooms = 0;
  mod_.ForEach([&](const std::string& name, const RoomRules& rr) {
    const std::string j = Moderation::CheckpointJson(rr, now);
    if (j.empty()) return;
    if (room::OwnerRoom* r = svc_.rooms_.GetOrCreate(name)) {
      svc_.log_->AppendControl(r, "checkpoint", j, now);
      ++rooms;
      svc_.ReclaimIfEmpty(r);  // the record holds the name and epoch; the room need not stay
    }
  });
  if (!global_rules_.empty() &&
      room::OwnerShardOf(chat::kGlobalRoom, svc_.opt_.shards) == svc_.shard_) {
    chat::ModOp op;
    op.action = ModAction::kTerms;
    op.rules = global_rules_;
    if (room::OwnerRoom* r = svc_.rooms_.GetOrCreate(chat::kGlobalRoom)) {
      svc_.log_->AppendControl(r, "checkpoint", Moderation::ActJson(op, {}, 0), now);
      svc_.ReclaimIfEmpty(r);
    }
  }
  if (rooms)
    RC_INFO(svc_.shard_, "moderation checkpoint: %zu rooms into the new log segment", rooms);
}

void Moderator::RestoreControl(const store::Record& rec) {
  RestoredAct act;
  if (!mod_.Restore(rec.room, rec.user, rec.json, rec.ts_ms, &act)) {
    RC_WARN(svc_.shard_, "moderation record of room %.*s not understood: skipped",
            static_cast<int>(rec.room.size()), rec.room.data());
    return;
  }
  if (rec.room == chat::kGlobalRoom) {  // the server-wide blocked terms (every shard gets them)
    global_rules_ = std::move(act.rules);
    global_terms_ = std::move(act.compiled);
    return;
  }
  // A clear of the whole room hides what came before it (its event is already back).
  if (act.whole_room && act.seq != 0) {
    room::OwnerRoom* r = svc_.rooms_.Find(rec.room);
    if (r && r->Epoch() == rec.epoch) r->HideBefore(act.seq);
  }
}

}  // namespace roomcast::owner
