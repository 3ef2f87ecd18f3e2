// RedisRooms, counts across nodes (docs/cluster.md, "Counts across nodes"): once a second each
// room this shard follows (or still has a count of its own in Redis for) reports this node's
// online count and the viewers that joined since, and gets the other nodes' count and the
// fleet's distinct viewers back (FleetCounts: one script call per room). A room whose viewers
// here are gone reports 0 once (its field is deleted) and is forgotten.
#include <algorithm>

#include "chat/mod_op.h"
#include "cluster/redis_rooms.h"

namespace roomcast::cluster {

namespace {

// Each viewer once (a long-poll viewer joins again with every poll).
void Compact(std::vector<uint64_t>* seen) {
  std::sort(seen->begin(), seen->end());
  seen->erase(std::unique(seen->begin(), seen->end()), seen->end());
}

}  // namespace

void RedisRooms::ViewerSeen(std::string_view room, uint64_t viewer) {
  Counted& c = counted_[std::string(room)];
  // Appended unsorted; compacted once the backlog doubles (at most once per kMaxSeen joins, not
  // on every join of a room that stays full), and cut to kMaxSeen if it is still over.
  if (c.seen.size() >= 2 * kMaxSeen) {
    Compact(&c.seen);
    if (c.seen.size() > kMaxSeen) c.seen.resize(kMaxSeen);
  }
  c.seen.push_back(viewer);
}

uint32_t RedisRooms::ReportCounts(uint64_t now_ms) {
  if (now_ms < next_count_ms_) return static_cast<uint32_t>(next_count_ms_ - now_ms);
  next_count_ms_ = now_ms + kCountEveryMs;
  for (const auto& [room, f] : follows_) {
    if (room != chat::kGlobalRoom) counted_.try_emplace(room);  // "*" has no viewers
  }
  std::vector<std::string> rooms;
  rooms.reserve(counted_.size());
  for (const auto& [room, c] : counted_) rooms.push_back(room);
  for (const std::string& room : rooms) ReportRoom(room);
  return static_cast<uint32_t>(kCountEveryMs);
}

void RedisRooms::ReportRoom(const std::string& room) {
  auto it = counted_.find(room);
  if (it == counted_.end()) it = counted_.emplace(room, Counted{}).first;
  Counted& c = it->second;
  room::OwnerRoom* r = owner_->Rooms().Find(room);
  const uint64_t online = r ? r->Online() : 0;
  if (!r) c.seen.clear();  // the room is gone here: its viewers have no epoch to count in
  if (online == 0 && c.reported == 0 && c.seen.empty() && !follows_.contains(room)) {
    counted_.erase(it);  // nothing of ours in Redis, nobody here to tell
    return;
  }
  const std::string epoch = r ? r->Epoch() : std::string();
  Compact(&c.seen);
  const size_t n = epoch.empty() ? 0 : std::min(c.seen.size(), FleetCounts::kMaxViewersPerCall);
  std::vector<uint64_t> sent(c.seen.begin(), c.seen.begin() + static_cast<std::ptrdiff_t>(n));
  counts_->Report(room, epoch, online, sent, loop_->NowMs() + opt_.deadline_ms,
                  [this, room, epoch, sent](bool ok, FleetCount fc) {
                    if (!ok) {
                      // Redis unreachable: the last sums stay, the viewers wait for the next
                      // report (within the backlog's bound).
                      Counted& back = counted_[room];
                      if (back.seen.size() < kMaxSeen) {
                        back.seen.insert(back.seen.end(), sent.begin(), sent.end());
                      }
                      return;
                    }
                    room::OwnerRoom* rr = owner_->Rooms().Find(room);
                    if (!rr) return;
                    // This node's last report of the room (no viewers here any more): the
                    // fleet's sums would not be refreshed again, so they are not kept.
                    if (!counted_.contains(room)) fc = FleetCount{};
                    // A total counted under another epoch (or none) says nothing of this one.
                    if (rr->Epoch() != epoch) fc.unique_total = rr->Stats().UniqueTotal();
                    owner_->SetFleetCounts(rr, fc.others_online, fc.unique_5m, fc.unique_total);
                  });
  c.seen.erase(c.seen.begin(), c.seen.begin() + static_cast<std::ptrdiff_t>(n));
  c.reported = online;
  if (online == 0 && c.seen.empty() && !follows_.contains(room)) counted_.erase(room);
}

}  // namespace roomcast::cluster
