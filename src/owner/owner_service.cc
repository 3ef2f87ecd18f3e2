#include "owner/owner_service.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "base/json_writer.h"
#include "base/log.h"

namespace roomcast::owner {

using chat::Refusal;

OwnerService::OwnerService(int shard, const OwnerOptions& opt, EventLog* log, Outbox* out,
                           OwnerCounters counters)
    : shard_(shard),
      opt_(opt),
      log_(log),
      out_(out),
      counters_(counters),
      rooms_(opt.shards, opt.history, opt.max_rooms, opt.prio_history),
      moderator_(this, opt.mod_policy, opt.max_rooms),
      pulse_(opt.pulse),
      dedup_(opt.dedup_ms, opt.dedup_max),
      cid_owners_(opt.dedup_ms, opt.dedup_max) {}

uint64_t OwnerService::UserTag(std::string_view user) {
  return room::UserTag(user);  // never 0: 0 means "not seen" to the window
}

void OwnerService::OnPublish(int from, mesh::PublishReq& req, uint64_t now_mono_ms) {
  if (sequencing_ && sequencing_->HoldPublish(from, req)) return;
  mesh::AckReply ack;
  ack.to = req.to;
  ack.http = req.http;
  ack.cors = req.cors;
  ack.cid = req.cid;
  if (!log_->Writable()) {
    ack.refusal = Refusal::kLogFailed;
    return out_->Send(from, std::move(ack));
  }
  room::OwnerRoom* r = rooms_.GetOrCreate(req.room);
  if (!r) {
    ack.refusal = Refusal::kRoomLimit;
    return out_->Send(from, std::move(ack));
  }
  if (const uint64_t seen = dedup_.Find(req.room, req.user, req.cid, req.ts_ms)) {
    // A resend (same user, room and cid): the original ack, once the original is written.
    OwnerCounters::Add(counters_.deduplicated, 1);
    ack.seq = seen;
    // The original's id: the cid, or a server id when another user owned the cid then.
    const uint64_t owner = cid_owners_.Find(req.room, {}, req.cid, req.ts_ms);
    ack.id = owner != 0 && owner != UserTag(req.user) ? r->MessageId({}, seen) : req.cid;
    ack.duplicate = true;
    return log_->SendAfterWritten(from, std::move(ack));
  }
  const Moderator::SenderCheck check =
      req.admin ? Moderator::SenderCheck::kGo : moderator_.CheckSender(from, req, &ack);
  if (check == Moderator::SenderCheck::kRefused || check == Moderator::SenderCheck::kHeld) return;
  room::PublishInput in{req.room, req.user, req.text, req.cid, req.ts_ms, now_mono_ms};
  in.prio = req.prio;
  in.kind = req.kind;
  in.name = req.name;
  in.badges_json = req.badges_json;
  in.roles = req.roles;
  in.ungated = req.admin;
  if (check == Moderator::SenderCheck::kShadow) {
    return moderator_.AnswerShadow(from, r, in, std::move(ack));
  }
  const uint64_t tag = UserTag(req.user);
  if (const uint64_t owner = cid_owners_.Admit(req.room, {}, req.cid, req.ts_ms, tag)) {
    in.cid_taken = owner != tag;
  }
  if (sequencing_) return sequencing_->Submit(from, r, in, std::move(ack));
  (void)dedup_.Admit(req.room, req.user, req.cid, req.ts_ms, r->LastSeq() + 1);
  const room::SequencedMsg& m = r->Sequence(in, /*visible=*/!log_->Deferred());
  OwnerCounters::Add(counters_.sequenced, 1);
  if (m.Prio()) OwnerCounters::Add(counters_.prio, 1);
  if (opt_.presence) r->Stats().NoteMessage(now_mono_ms);
  ack.seq = m.seq;
  ack.id = r->MessageId(in.cid_taken ? std::string_view{} : req.cid, m.seq);
  // Sampled out: still sequenced, kept and logged; live only to its sender and those it mentions.
  ack.sampled = !m.Prio() && !NoteOrdinary(r, now_mono_ms);
  log_->Append(r, m, req.user, req.cid, 0, req.ts_ms);
  log_->SendAfterWritten(from, std::move(ack));
  if (!ack.sampled) return Forward(r, m);
  room::MentionTags(req.text, &mention_scratch_);
  mention_scratch_.push_back(tag);
  Forward(r, m, mention_scratch_);
}

void OwnerService::Forward(room::OwnerRoom* r, const room::SequencedMsg& m,
                           std::vector<uint64_t> see_tags) {
  const auto& per_shard = r->PerShard();
  for (int s = 0; s < opt_.shards; ++s) {
    if (per_shard[static_cast<size_t>(s)] == 0) continue;
    mesh::ForwardMsg fwd{r->Name(), m, see_tags};
    if (!see_tags.empty()) fwd.msg.flags |= room::kEvSampled;
    log_->SendAfterWritten(s, std::move(fwd));
  }
}

void OwnerService::OnReact(int from, mesh::ReactReq& req, uint64_t now_mono_ms) {
  const Pulse::ReactResult res = pulse_.React(req.room, req.reactor, req.emote, now_mono_ms);
  if (res.refusal == Refusal::kNone) {
    OwnerCounters::Add(counters_.reactions, 1);
    return;
  }
  OwnerCounters::Add(counters_.reactions_refused, 1);
  mesh::AckReply ack;
  ack.to = req.to;
  ack.op = "react";
  ack.refusal = res.refusal;
  ack.retry_ms = res.retry_ms;
  out_->Send(from, std::move(ack));
}

void OwnerService::OnTurn(uint64_t now_mono_ms) {
  now_ms_ = now_mono_ms;
  if (now_mono_ms < pulse_.NextDueMs()) return;
  for (Pulse::DueEvent& ev : pulse_.Due(now_mono_ms)) {
    room::OwnerRoom* r = rooms_.Find(ev.room);
    if (r == nullptr) continue;  // reclaimed meanwhile: nobody to tell
    if (ev.json.empty()) {
      if (pulse_.Announce(ev.room, r->FleetOnline(), now_mono_ms)) {
        SendRoomEvent(*r, "state", StateJson(*r), r->FleetOnline());
      }
    } else {
      SendRoomEvent(*r, "reactions", std::move(ev.json));
    }
  }
}

std::string OwnerService::StateJson(room::OwnerRoom& r) {
  std::string j = R"({"type":"state","room":)";
  json::AppendString(&j, r.Name());
  j += R"(,"online":)";
  json::AppendUint(&j, r.FleetOnline());
  if (opt_.presence) {
    j += R"(,"unique_5m":)";
    json::AppendUint(&j, r.Stats().Unique5m(now_ms_));
  }
  j += R"(,"modes":)";
  j += moderator_.Rules().ModesJsonOf(r.Name());
  if (r.HotNow()) j += R"(,"hot":true)";
  j += '}';
  return j;
}

void OwnerService::SendRoomEvent(const room::OwnerRoom& r, std::string_view type, std::string json,
                                 uint64_t online) {
  const auto& per_shard = r.PerShard();
  int last = -1;
  for (int s = 0; s < opt_.shards; ++s) {
    if (per_shard[static_cast<size_t>(s)] != 0) last = s;
  }
  for (int s = 0; s <= last; ++s) {
    if (per_shard[static_cast<size_t>(s)] == 0) continue;
    mesh::RoomEvent ev{r.Name(), std::string(type), s == last ? std::move(json) : json, online};
    out_->Send(s, std::move(ev));
  }
}

void OwnerService::OnModerate(int from, mesh::ModerateReq& req, uint64_t now_mono_ms) {
  // --redis: a room's rules live in Redis (shared_moderator.cc), and so do the server-wide
  // blocked terms (the rules hash of the room "*", followed by its owner shard, which hands
  // them to the other shards: those copies are applied here as on a single node).
  if (sequencing_ && !req.op.propagated) {
    if (sequencing_->HoldModerate(from, req)) return;
    return moderator_.OnModerateShared(from, req, now_mono_ms);
  }
  moderator_.OnModerate(from, req, now_mono_ms);
}

void OwnerService::Deliver(room::OwnerRoom* r, room::SequencedMsg&& m, uint64_t retract_target,
                           bool clear) {
  const room::SequencedMsg& ev = r->Adopt(std::move(m), retract_target);
  log_->AppendCopy(r, ev, retract_target);
  if (ev.Retract()) OwnerCounters::Add(counters_.retractions, 1);
  Forward(r, ev);
  if (clear) r->HideBefore(r->LastSeq());
}

void OwnerService::OnRetract(int from, mesh::RetractReq& req, uint64_t now_mono_ms) {
  mesh::AckReply ack;
  ack.to = req.to;
  ack.http = true;
  ack.cors = req.cors;
  ack.target = req.target;
  if (sequencing_) {
    if (sequencing_->HoldRetract(from, req)) return;
    return moderator_.OnRetractShared(from, req, std::move(ack));
  }
  room::OwnerRoom* r = rooms_.Find(req.room);
  if (!log_->Writable()) {
    ack.refusal = Refusal::kLogFailed;
  } else if (!r) {
    ack.refusal = Refusal::kNoSuchMessage;
  } else {
    ack.refusal = RetractOne(r, req.target, req.reason, req.by, req.ts_ms, now_mono_ms, &ack.seq);
  }
  if (ack.refusal != Refusal::kNone) return out_->Send(from, std::move(ack));
  // The audit record: who, when, why (a control record, like every moderation act).
  if (RoomRules* rr = moderator_.Rules().GetOrCreate(req.room)) {
    chat::ModOp op;
    op.action = chat::ModAction::kDelete;
    op.seq = req.target;
    op.reason = req.reason;
    moderator_.RecordAct(r, rr, req.by, op, req.ts_ms, ack.seq);
  }
  log_->SendAfterWritten(from, std::move(ack));
}

void OwnerService::OnJoin(int from, mesh::JoinReq& req, uint64_t now_mono_ms) {
  if (sequencing_ && sequencing_->HoldJoin(from, req)) return;
  if (now_mono_ms == 0) now_mono_ms = now_ms_;  // a join held for Redis, replayed later
  mesh::JoinReply rep;
  rep.room = req.room;
  rep.to = req.to;
  rep.mode = req.mode;
  rep.tag = req.tag;
  room::OwnerRoom* r = rooms_.GetOrCreate(req.room);
  if (!r) {
    rep.refusal = Refusal::kTooManyRooms;
    return out_->Send(from, std::move(rep));
  }
  rep.epoch = r->Epoch();
  rep.head = r->HeadSeq();
  rep.last = rep.head;
  rep.modes_json = moderator_.Rules().ModesJsonOf(req.room);
  if (req.since != mesh::kNoSince) {
    uint64_t since = req.since;
    // Another epoch (named, or a seq this epoch never reached): the viewer's seqs are void. It
    // starts this epoch from its beginning, told so with a reset gap.
    if ((!req.epoch.empty() && req.epoch != r->Epoch()) || since > r->HeadSeq()) {
      since = 0;
      rep.reset = true;
    }
    // A poll pages by its cursor; a stream resume is answered in pages (kPaged) until the
    // rest fits one, and only that last answer counts the viewer.
    const bool poll = req.mode == mesh::JoinMode::kPoll;
    const uint64_t prio_sent = rep.reset ? 0 : req.prio_sent_upto;
    room::OwnerRoom::SinceResult res =
        r->Since(since, opt_.max_history_request,
                 poll ? room::OwnerRoom::Cap::kOldest : room::OwnerRoom::Cap::kPaged, prio_sent);
    rep.gap_from = rep.reset ? 1 : res.gap_from;
    rep.gap_to = res.gap_to;
    rep.history = std::move(res.msgs);
    rep.last = res.last;
    rep.more = !poll && rep.last < rep.head;
    if (rep.more) rep.prio_sent_upto = rep.head;  // a page carries every priority event so far
  } else if (req.history) {
    rep.history = r->Recent(req.history);
  }
  // A poll is parked (and counted) only when it has nothing to take away yet; a first poll
  // (no cursor) is always answered at once. A catch-up page counts nobody (the viewer may
  // leave before its last page; nothing is forwarded for it meanwhile).
  rep.counted =
      req.mode != mesh::JoinMode::kPoll
          ? !rep.more
          : req.since != mesh::kNoSince && rep.history.empty() && rep.gap_to == 0 && !rep.reset;
  if (rep.counted) r->AddViewers(from, 1);
  if (sequencing_) sequencing_->ViewersChanged(r->Name(), r->Online());
  if (opt_.presence) {
    r->Stats().NoteViewer(req.viewer, now_mono_ms);
    if (sequencing_ && req.viewer != 0) sequencing_->ViewerSeen(r->Name(), req.viewer);
    if (rep.counted) r->Stats().AddViewers(req.mode, 1);
  }
  // A viewer catching up is not counted yet, but will be: `online` includes it, as for a join.
  rep.online = r->FleetOnline() + (rep.more ? 1 : 0);
  if (rep.counted) {  // a long-poll is told no count (nor any presence state)
    pulse_.NoteOnline(r->Name(), now_ms_, r->Online(),
                      req.mode == mesh::JoinMode::kPoll ? 0 : rep.online);
  }
  out_->Send(from, std::move(rep));
  ReclaimIfEmpty(r);
}

void OwnerService::OnLeave(int from, const mesh::LeaveReq& req) {
  if (room::OwnerRoom* r = rooms_.Find(req.room)) {
    r->RemoveViewers(from, req.count);
    pulse_.NoteOnline(r->Name(), now_ms_, r->Online(), 0);
    if (sequencing_) sequencing_->ViewersChanged(r->Name(), r->Online());
    if (opt_.presence) r->Stats().RemoveViewers(req.mode, req.count);
    ReclaimIfEmpty(r);
  }
}

void OwnerService::ReclaimIfEmpty(room::OwnerRoom* r) {
  // Nothing was ever sequenced and nobody is counted: the room holds nothing worth a slot under
  // --max-rooms. A request for it makes it again, with the same epoch (OwnerRooms::GetOrCreate
  // derives it from the name), so nobody can tell.
  if (r->Online() == 0 && r->LastSeq() == 0) rooms_.Drop(r->Name());
}

void OwnerService::OnHistory(int from, mesh::HistoryReq& req) {
  if (sequencing_ && sequencing_->HoldHistory(from, req)) return;
  mesh::HistoryReply rep;
  rep.to = req.to;
  rep.cors = req.cors;
  rep.room = req.room;
  rep.latest = req.latest;
  rep.limit = req.limit;
  if (const room::OwnerRoom* r = rooms_.Find(req.room)) {
    rep.epoch = r->Epoch();
    rep.head = r->HeadSeq();
    rep.last = req.after;
    rep.online = r->FleetOnline();
    if (req.latest) return SendLatest(from, *r, std::move(rep));
    // A seq above the head is of another epoch: nothing of it is here (the epoch says so).
    if (req.after < rep.head) {
      room::OwnerRoom::SinceResult res =
          r->Since(req.after, req.limit, room::OwnerRoom::Cap::kOldest);
      rep.gap_from = res.gap_from;
      rep.gap_to = res.gap_to;
      rep.last = res.last;
      rep.msgs = std::move(res.msgs);
      // Since puts priority events first; a page is in seq order.
      std::stable_sort(
          rep.msgs.begin(), rep.msgs.end(),
          [](const room::SequencedMsg& a, const room::SequencedMsg& b) { return a.seq < b.seq; });
    }
  }
  out_->Send(from, std::move(rep));
}

void OwnerService::SendLatest(int from, const room::OwnerRoom& r, mesh::HistoryReply&& rep) {
  room::OwnerRoom::SinceResult res = r.Since(0, rep.limit, room::OwnerRoom::Cap::kNewest);
  rep.msgs = std::move(res.msgs);
  // Since puts priority events first (they may add to the newest `limit`): seq order, the last
  // `limit` kept.
  std::stable_sort(
      rep.msgs.begin(), rep.msgs.end(),
      [](const room::SequencedMsg& a, const room::SequencedMsg& b) { return a.seq < b.seq; });
  if (rep.msgs.size() > rep.limit) {
    rep.msgs.erase(rep.msgs.begin(),
                   rep.msgs.begin() + static_cast<std::ptrdiff_t>(rep.msgs.size() - rep.limit));
  }
  rep.last = rep.head;
  rep.reactions = pulse_.LastCounts(r.Name());
  out_->Send(from, std::move(rep));
}

uint64_t OwnerService::SequenceAllowed(room::OwnerRoom* r, HeldMsg&& m, int64_t ts_ms,
                                       uint64_t mono_ms) {
  room::PublishInput in{r->Name(), m.user, m.text, m.cid, ts_ms, mono_ms};
  in.name = m.name;
  in.badges_json = m.badges_json;
  in.roles = m.roles;
  const uint64_t tag = UserTag(m.user);
  if (const uint64_t owner = cid_owners_.Admit(r->Name(), {}, m.cid, ts_ms, tag)) {
    in.cid_taken = owner != tag;
  }
  (void)dedup_.Admit(r->Name(), m.user, m.cid, ts_ms, r->LastSeq() + 1);
  const room::SequencedMsg& ev = r->Sequence(in, /*visible=*/!log_->Deferred());
  OwnerCounters::Add(counters_.sequenced, 1);
  if (opt_.presence) r->Stats().NoteMessage(mono_ms);
  log_->Append(r, ev, m.user, m.cid, 0, ts_ms);
  Forward(r, ev);
  return ev.seq;
}

Refusal RetractRefusal(room::OwnerRoom::RetractStatus st) {
  using St = room::OwnerRoom::RetractStatus;
  switch (st) {
    case St::kOk:
      return Refusal::kNone;
    case St::kAlreadyRetracted:
      return Refusal::kAlreadyRetracted;
    case St::kNotAMessage:
      return Refusal::kNotAMessage;
    case St::kGone:
      return Refusal::kGone;
    case St::kNotFound:
      break;
  }
  return Refusal::kNoSuchMessage;
}

Refusal OwnerService::RetractOne(room::OwnerRoom* r, uint64_t target, std::string_view reason,
                                 std::string_view by, int64_t ts_ms, uint64_t mono_ms,
                                 uint64_t* seq) {
  const room::SequencedMsg* ev = nullptr;
  const Refusal f = RetractRefusal(
      r->Retract(target, reason, ts_ms, mono_ms, /*visible=*/!log_->Deferred(), &ev));
  if (f != Refusal::kNone) return f;
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

}  // namespace roomcast::owner
