// Hot rooms at the owner (PROTOCOL.md, "Presence, counts and hot rooms"): each room's ordinary
// message rate (room::HotRoom), automatic slow mode turned on and off with hysteresis and
// announced like a moderator's mode change (a `state` event, a control record), and one sample of
// at most --max-visible-rate ordinary messages a second that every viewer gets alike, with a
// `sampled` marker a second. Owner shard thread only.
#include <utility>

#include "base/json_writer.h"
#include "base/log.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

bool OwnerService::NoteOrdinary(room::OwnerRoom* r, uint64_t mono_ms) {
  room::HotRoom& hot = r->Hot();
  if (!hot.watched) {
    hot.watched = true;
    hot_watch_.insert(r->Name());
  }
  return hot.NoteOrdinary(mono_ms, opt_.hot);
}

std::string OwnerService::StateFields(room::OwnerRoom* r, const room::RoomModes& modes) {
  std::string fields = R"(,"online":)";
  json::AppendUint(&fields, r->FleetOnline());
  fields += R"(,"modes":)";
  fields += Moderation::ModesJson(modes);
  if (r->Hot().announced_hot) fields += R"(,"hot":true)";
  return fields;
}

void OwnerService::CheckHotRooms(int64_t now_unix_ms, uint64_t now_mono_ms) {
  for (auto it = hot_watch_.begin(); it != hot_watch_.end();) {
    room::OwnerRoom* r = rooms_.Find(*it);
    if (!r) {
      it = hot_watch_.erase(it);
      continue;
    }
    room::HotRoom& hot = r->Hot();
    const bool flipped = hot.Update(now_mono_ms, opt_.hot);
    const RoomRules* rr = moderator_.Rules().Find(r->Name());
    const bool auto_on = rr && rr->rules.Modes().auto_slow_secs != 0;
    // The modes follow the detector when it flips. A moderator's "slow_secs":0 lifts automatic
    // slow mode meanwhile; it comes back only when the room heats up again after cooling down.
    const bool modes_change = flipped && hot.AutoSlow() != auto_on;
    if ((modes_change || hot.Hot() != hot.announced_hot) && log_->Writable()) {
      AnnounceHot(r, modes_change, now_unix_ms, now_mono_ms);
    }
    const room::HotRoom::SecondTally t = hot.TakeSampledTally(now_mono_ms);
    if (t.total != 0) SendSampledMarker(r, t.shown, t.total);
    const bool idle = !hot.announced_hot && !auto_on && hot.Quiet(now_mono_ms);
    if (idle) {
      hot.watched = false;
      it = hot_watch_.erase(it);
    } else {
      ++it;
    }
  }
}

void OwnerService::SendSampledMarker(room::OwnerRoom* r, uint32_t shown, uint32_t total) {
  std::string j = R"({"type":"sampled","room":)";
  json::AppendString(&j, r->Name());
  j += R"(,"shown":)";
  json::AppendUint(&j, shown);
  j += R"(,"total":)";
  json::AppendUint(&j, total);
  j += '}';
  const auto& per_shard = r->PerShard();
  for (int s = 0; s < opt_.shards; ++s) {
    if (per_shard[static_cast<size_t>(s)] == 0) continue;
    // After the messages it counts (they may still wait for the log).
    log_->SendAfterWritten(s, mesh::RoomEvent{r->Name(), "sampled", j});
  }
}

void OwnerService::AnnounceHot(room::OwnerRoom* r, bool modes_change, int64_t now_unix_ms,
                               uint64_t now_mono_ms) {
  room::HotRoom& hot = r->Hot();
  RoomRules* rr = moderator_.Rules().GetOrCreate(r->Name());
  if (!rr) modes_change = false;  // --max-rooms rooms have rules: only `hot` is told
  room::RoomModes modes = rr ? rr->rules.Modes() : room::RoomModes{};
  if (modes_change) {
    modes.auto_slow_secs = hot.AutoSlow() ? opt_.hot.auto_slow_secs : 0;
    rr->rules.SetModes(modes);
  }
  hot.announced_hot = hot.Hot();
  RC_INFO(shard_, "hot room=%s rate=%.1f/s hot=%d auto_slow=%d sampled=%d", r->Name().c_str(),
          hot.Rate(now_mono_ms), hot.Hot() ? 1 : 0, hot.AutoSlow() ? 1 : 0, hot.Sampling() ? 1 : 0);
  const room::SequencedMsg& ev = r->SequenceEvent("state", StateFields(r, modes), now_unix_ms,
                                                  now_mono_ms, /*visible=*/!log_->Deferred());
  log_->Append(r, ev, kAutoActor, {}, 0, now_unix_ms);
  Forward(r, ev);
  if (!modes_change) return;
  chat::ModOp op;
  op.action = chat::ModAction::kMode;
  op.reason = hot.AutoSlow() ? "hot room" : "cooled down";
  moderator_.RecordAct(r, rr, kAutoActor, op, now_unix_ms, ev.seq);
}

}  // namespace roomcast::owner
