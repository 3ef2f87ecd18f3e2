// The moderation half of OwnerService (owner_service.h): the checks before a user's message is
// sequenced, and the moderators' acts (bans, timeouts, modes, clears, deletes), each applied on
// the room's owner, written to the EventLog as a control record, audited, and announced to the
// room as an event where viewers must see it. Owner shard thread only.
#include <string>
#include <utility>

#include "auth/roles.h"
#include "base/json_writer.h"
#include "base/log.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

using chat::ModAction;
using chat::Refusal;

namespace {

// A ban retracts the user's messages of the last ten minutes (PROTOCOL.md, "Moderation").
constexpr int64_t kBanRetractWindowMs = 10 * 60 * 1000;

}  // namespace

OwnerService::SenderCheck OwnerService::CheckSender(int from, mesh::PublishReq& req,
                                                    mesh::AckReply* ack) {
  RoomRules* rr = mod_.GetOrCreate(req.room);
  if (!rr) {
    ack->refusal = Refusal::kRoomLimit;
    out_->Send(from, std::move(*ack));
    return SenderCheck::kRefused;
  }
  const auto now = static_cast<uint64_t>(req.ts_ms);
  const room::SendCheck check =
      rr->rules.CheckSend(req.user, req.roles, req.text, now, mod_.Policy());
  if (check.refusal != Refusal::kNone) {
    OwnerCounters::Add(counters_.refused, 1);
    ack->refusal = check.refusal;
    ack->retry_ms = check.retry_ms;
    out_->Send(from, std::move(*ack));
    return SenderCheck::kRefused;
  }
  rr->rules.NoteAccepted(req.user, req.roles, req.text, now, mod_.Policy());
  return check.shadow ? SenderCheck::kShadow : SenderCheck::kGo;
}

void OwnerService::AnswerShadow(int from, room::OwnerRoom* r, const room::PublishInput& in,
                                mesh::AckReply&& ack) {
  // Nothing is sequenced: the sender is told its message went out (at the head seq, which it
  // already has or will get) and its connection shows it; nobody else ever sees it.
  OwnerCounters::Add(counters_.refused, 1);
  room::PublishInput echo = in;
  std::string id = in.cid.empty() ? "shadow-" + std::to_string(in.ts_ms) : std::string(in.cid);
  echo.cid = id;
  echo.cid_taken = false;
  ack.seq = r->LastSeq();
  ack.id = id;
  ack.echo = r->RenderMessage(echo, ack.seq);
  log_->SendAfterWritten(from, std::move(ack));
}

void OwnerService::OnModerate(int from, mesh::ModerateReq& req, uint64_t now_mono_ms) {
  mesh::AckReply ack;
  ack.to = req.to;
  ack.http = req.http;
  ack.cors = req.cors;
  ack.op = chat::Name(req.op.action);
  if (!req.by_admin_key && !auth::CanModerate(req.actor_roles)) {
    ack.refusal = Refusal::kForbidden;
    return out_->Send(from, std::move(ack));
  }
  switch (req.op.action) {
    case ModAction::kListBans:
      ack.body = mod_.BansJson(req.room, req.ts_ms);
      return out_->Send(from, std::move(ack));
    case ModAction::kAudit:
      ack.body = mod_.AuditJson(req.room, req.op.limit);
      return out_->Send(from, std::move(ack));
    default:
      break;
  }
  room::OwnerRoom* r = log_->Writable() ? rooms_.GetOrCreate(req.room) : nullptr;
  RoomRules* rr = r ? mod_.GetOrCreate(req.room) : nullptr;
  if (!rr) {
    ack.refusal = log_->Writable() ? Refusal::kRoomLimit : Refusal::kLogFailed;
    return out_->Send(from, std::move(ack));
  }
  if (!Moderation::AdmitAct(rr, req.ts_ms, &ack.retry_ms)) {
    ack.refusal = Refusal::kTooManyActs;
    return out_->Send(from, std::move(ack));
  }
  ack.refusal = ApplyAct(r, rr, req, now_mono_ms, &ack.seq);
  if (ack.refusal != Refusal::kNone) return out_->Send(from, std::move(ack));
  RecordAct(r, rr, req.actor, req.op, req.ts_ms, ack.seq);
  log_->SendAfterWritten(from, std::move(ack));
  ReclaimIfEmpty(r);
}

Refusal OwnerService::ApplyAct(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                               uint64_t mono_ms, uint64_t* seq) {
  const chat::ModOp& op = req.op;
  const bool visible = !log_->Deferred();
  switch (op.action) {
    case ModAction::kBan:
      rr->rules.Ban(op.user, op.secs, op.shadow, static_cast<uint64_t>(req.ts_ms));
      // A shadow ban changes nothing anyone else sees: the past stays as it was.
      if (!op.shadow) RetractBy(r, op.user, req.ts_ms - kBanRetractWindowMs, req, mono_ms);
      return Refusal::kNone;
    case ModAction::kUnban:
      return rr->rules.Unban(op.user) ? Refusal::kNone : Refusal::kNotBanned;
    case ModAction::kMode: {
      room::RoomModes m = rr->rules.Modes();
      if (op.modes.slow_secs) m.slow_secs = *op.modes.slow_secs;
      if (op.modes.subscribers_only) m.subscribers_only = *op.modes.subscribers_only;
      if (op.modes.emote_only) m.emote_only = *op.modes.emote_only;
      if (op.modes.unique) m.unique = *op.modes.unique;
      rr->rules.SetModes(m);
      std::string fields = R"(,"online":)";
      json::AppendUint(&fields, r->Online());
      fields += R"(,"modes":)";
      fields += Moderation::ModesJson(m);
      *seq = SequenceAndForward(r, "state", fields, req, mono_ms, visible);
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
      return RetractOne(r, op.seq, op.reason, req.actor, req.ts_ms, mono_ms, seq);
    case ModAction::kListBans:
    case ModAction::kAudit:
      break;
  }
  return Refusal::kBadRequest;
}

uint64_t OwnerService::SequenceAndForward(room::OwnerRoom* r, std::string_view type,
                                          std::string_view fields, const mesh::ModerateReq& req,
                                          uint64_t mono_ms, bool visible) {
  const room::SequencedMsg& ev = r->SequenceEvent(type, fields, req.ts_ms, mono_ms, visible);
  log_->Append(r, ev, req.actor, {}, 0, req.ts_ms);
  Forward(r, ev);
  return ev.seq;
}

void OwnerService::RetractBy(room::OwnerRoom* r, std::string_view user, int64_t since_ms,
                             const mesh::ModerateReq& req, uint64_t mono_ms) {
  const std::string reason = req.op.action == ModAction::kBan ? "banned" : "cleared";
  for (uint64_t target : r->MessagesBy(room::UserTag(user), since_ms)) {
    uint64_t ignored = 0;
    (void)RetractOne(r, target, reason, req.actor, req.ts_ms, mono_ms, &ignored);
  }
}

Refusal OwnerService::RetractOne(room::OwnerRoom* r, uint64_t target, std::string_view reason,
                                 std::string_view by, int64_t ts_ms, uint64_t mono_ms,
                                 uint64_t* seq) {
  using St = room::OwnerRoom::RetractStatus;
  const room::SequencedMsg* ev = nullptr;
  switch (r->Retract(target, reason, ts_ms, mono_ms, /*visible=*/!log_->Deferred(), &ev)) {
    case St::kOk:
      break;
    case St::kAlreadyRetracted:
      return Refusal::kAlreadyRetracted;
    case St::kNotAMessage:
      return Refusal::kNotAMessage;
    case St::kGone:
      return Refusal::kGone;
    case St::kNotFound:
      return Refusal::kNoSuchMessage;
  }
  OwnerCounters::Add(counters_.retractions, 1);
  *seq = ev->seq;
  std::string quoted;
  json::AppendString(&quoted, reason);
  RC_INFO(shard_, "retract room=%s seq=%llu at=%llu by=%s reason=%s", r->Name().c_str(),
          static_cast<unsigned long long>(target), static_cast<unsigned long long>(ev->seq),
          std::string(by).c_str(), quoted.c_str());
  log_->Append(r, *ev, by, {}, target, ts_ms);
  Forward(r, *ev);
  return Refusal::kNone;
}

void OwnerService::RecordAct(room::OwnerRoom* r, RoomRules* rr, std::string_view actor,
                             const chat::ModOp& op, int64_t ts_ms, uint64_t seq) {
  const std::string act = Moderation::ActJson(op, rr->rules.Modes(), seq);
  log_->AppendControl(r, actor, act, ts_ms);
  std::string target = op.user;
  if (op.action == ModAction::kDelete) target = std::to_string(op.seq);
  if (op.action == ModAction::kMode || (op.action == ModAction::kClear && op.user.empty())) {
    target = r->Name();
  }
  Moderation::Audit(rr, AuditEntry{ts_ms, std::string(actor), std::string(chat::Name(op.action)),
                                   std::move(target), op.reason, seq});
  RC_INFO(shard_, "moderation room=%s actor=%s %s", r->Name().c_str(), std::string(actor).c_str(),
          act.c_str());
}

void OwnerService::OnSecond(int64_t now_unix_ms) { mod_.Sweep(now_unix_ms); }

}  // namespace roomcast::owner
