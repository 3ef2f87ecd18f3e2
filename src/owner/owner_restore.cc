// Start-up replay into the owner: every logged event back into its room (the newer epoch wins
// when a room's history was lost once), the dedup window refilled, and what a damaged log may
// have lost turned into gaps (docs/durability.md, "Damage"). Main thread, before the shards run.
#include <time.h>

#include <string>

#include "base/json_writer.h"
#include "base/log.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

namespace {

int64_t UnixMsNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void OwnerService::RestoreEvent(const store::Record& rec) {
  if (rec.flags & store::kRecControl) return moderator_.RestoreControl(rec);
  room::OwnerRoom* r = rooms_.Find(rec.room);
  if (r && r->Epoch() != rec.epoch) {
    // A room whose history was lost once started a new epoch: the newer epoch wins.
    auto it = restore_ts_.find(std::string(rec.room));
    if (it != restore_ts_.end() && rec.ts_ms < it->second) return;
    rooms_.Drop(rec.room);
    r = nullptr;
  }
  if (!r) {
    r = rooms_.GetOrCreateWithEpoch(rec.room, rec.epoch);
    restore_ts_[std::string(rec.room)] = rec.ts_ms;
  }
  uint8_t flags = 0;
  if (rec.flags & store::kRecPrio) flags |= room::kEvPrio;
  if (rec.flags & store::kRecRetract) flags |= room::kEvRetract;
  // Only messages are a user's (a ban or a clear retracts them); other events name their actor.
  const bool msg = rec.json.starts_with(R"({"type":"msg")");
  r->Restore(rec.seq, rec.json, flags, rec.target, msg ? UserTag(rec.user) : 0, rec.ts_ms);
  if (!restore_damage_.empty()) {
    restore_damage_seen_[std::string(rec.room)] = static_cast<uint32_t>(restore_damage_.size());
  }
  if (restore_now_ms_ == 0) restore_now_ms_ = UnixMsNow();
  if (!rec.cid.empty() && rec.ts_ms + static_cast<int64_t>(opt_.dedup_ms) >= restore_now_ms_) {
    dedup_.Preload(rec.room, rec.user, rec.cid, rec.seq, rec.ts_ms);
    // The user whose message carries the cid as its id owns it (another user's message with the
    // same cid got a server id).
    std::string id_field = "\"id\":";
    json::AppendString(&id_field, rec.cid);
    if (rec.json.find(id_field) != std::string_view::npos) {
      cid_owners_.Preload(rec.room, {}, rec.cid, UserTag(rec.user), rec.ts_ms);
    }
  }
}

void OwnerService::RestoreDamage(uint64_t max_records) { restore_damage_.push_back(max_records); }

size_t OwnerService::EndRestore() {
  // lost_after[i]: the events a room may have lost in damaged ranges i and later.
  std::vector<uint64_t> lost_after(restore_damage_.size() + 1, 0);
  for (size_t i = restore_damage_.size(); i-- > 0;) {
    lost_after[i] = lost_after[i + 1] + restore_damage_[i];
  }
  uint64_t marked = 0;
  rooms_.ForEach([&](room::OwnerRoom& r) {
    // Seqs missing between kept events were lost (or cut by retention): a resume is told.
    r.FillHoles();
    if (restore_damage_.empty()) return;
    auto it = restore_damage_seen_.find(r.Name());
    const uint64_t lost = lost_after[it == restore_damage_seen_.end() ? 0 : it->second];
    if (lost == 0) return;
    // Its newest events may be in the damage: never hand out those seqs again in this epoch.
    const uint64_t from = r.LastSeq() + 1;
    r.MarkLost(from, from + lost - 1);
    ++marked;
  });
  if (marked) {
    RC_WARN(shard_,
            "message log damage: %llu rooms whose newest events came before a damaged range "
            "skip up to %llu seqs each; resumes across them get a gap",
            static_cast<unsigned long long>(marked),
            static_cast<unsigned long long>(lost_after[0]));
  }
  ResumeAutoSlow();
  std::vector<uint64_t>().swap(restore_damage_);
  std::unordered_map<std::string, uint32_t>().swap(restore_damage_seen_);
  std::unordered_map<std::string, int64_t>().swap(restore_ts_);
  dedup_.EndPreload();
  cid_owners_.EndPreload();
  return rooms_.Count();
}

void OwnerService::ResumeAutoSlow() {
  // Automatic slow mode was on when the log ended: it stays until the room cools down.
  moderator_.Rules().ForEach([&](const std::string& name, RoomRules& rr) {
    room::RoomModes m = rr.rules.Modes();
    if (m.auto_slow_secs == 0) return;
    room::OwnerRoom* r = rooms_.Find(name);
    if (!r) {
      m.auto_slow_secs = 0;
      rr.rules.SetModes(m);
      return;
    }
    r->Hot().ResumeAutoSlow();
    r->Hot().announced_hot = true;
    r->Hot().watched = true;
    hot_watch_.insert(name);
  });
}

}  // namespace roomcast::owner
