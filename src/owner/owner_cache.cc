// Start-up replay of the local cache (--redis with --data-dir; owner/cache_log.h): the events
// Redis delivered to this node's copies before it stopped, back into the copies, so that the
// first follow of a room reads from its stream only what came after. A copy is only a head start:
// RedisRooms checks it against Redis (epoch, seq, the last event) before any viewer is answered
// from it. Main thread, before the shards run.
#include <algorithm>
#include <string>
#include <vector>

#include "base/decimal.h"
#include "base/log.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

void OwnerService::RestoreCopy(const store::Record& rec) {
  const std::string name(rec.room);
  if (rec.flags & store::kRecControl) {  // a reset: the copy starts over after it
    rooms_.Drop(rec.room);
    restore_clears_.erase(name);
    return;
  }
  room::OwnerRoom* r = rooms_.Find(rec.room);
  // The copy started over since what came before: another epoch (Redis started the room over),
  // or a seq not above the copy's last one (read anew after a reset whose record was lost).
  // Dropping a copy is always safe: Redis fills it in.
  const bool other_epoch = r && r->Epoch() != rec.epoch;
  if (other_epoch) {
    // Kept only when this record is older than the copy's newest (shard logs are read one
    // after another when --shards changed).
    auto it = restore_ts_.find(name);
    if (it != restore_ts_.end() && rec.ts_ms < it->second) return;
  }
  if (r && (other_epoch || rec.seq <= r->LastSeq())) {
    rooms_.Drop(rec.room);
    restore_clears_.erase(name);
    r = nullptr;
  }
  if (!r) {
    r = rooms_.GetOrCreateWithEpoch(rec.room, rec.epoch);
    if (!r) return;  // --max-rooms: this one is read from Redis when followed
  }
  int64_t& newest = restore_ts_[name];
  newest = std::max(newest, rec.ts_ms);
  std::string_view tag_text = rec.user;
  uint64_t tag = 0;
  if (!tag_text.empty() && !base::TakeU64(&tag_text, &tag)) tag = 0;
  uint8_t flags = 0;
  if (rec.flags & store::kRecPrio) flags |= room::kEvPrio;
  if (rec.flags & store::kRecRetract) flags |= room::kEvRetract;
  r->Restore(rec.seq, rec.json, flags, rec.target, tag, rec.ts_ms);
  if (rec.json.starts_with(R"({"type":"clear")")) {
    uint64_t& clear = restore_clears_[name];
    clear = std::max(clear, rec.seq);
  }
}

size_t OwnerService::EndRestoreCopies() {
  for (const auto& [name, seq] : restore_clears_) {
    if (room::OwnerRoom* r = rooms_.Find(name)) r->HideBefore(seq);
  }
  // A copy with a hole (a damaged cache) would tell viewers of a gap Redis may not have: such a
  // copy is dropped whole and read again from the stream.
  std::vector<std::string> holed;
  rooms_.ForEach([&](room::OwnerRoom& r) {
    if (r.HasHoles()) holed.push_back(r.Name());
  });
  for (const std::string& name : holed) rooms_.Drop(name);
  if (!holed.empty()) {
    RC_WARN(shard_, "local cache: %zu rooms had events missing in the middle: read from Redis",
            holed.size());
  }
  std::unordered_map<std::string, uint64_t>().swap(restore_clears_);
  std::unordered_map<std::string, int64_t>().swap(restore_ts_);
  return rooms_.Count();
}

}  // namespace roomcast::owner
