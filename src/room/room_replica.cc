#include "room/room_replica.h"

namespace roomcast::room {

uint32_t FlushIntervalMs(const PacingPolicy& p, size_t viewers) {
  // Sends per flush = viewers; flushes per second must keep viewers * flushes <= budget.
  const uint64_t budget = p.send_budget_per_sec ? p.send_budget_per_sec : 1;
  const uint64_t paced = (static_cast<uint64_t>(viewers) * 1000 + budget - 1) / budget;
  const uint64_t ms = paced > p.tick_ms ? paced : p.tick_ms;
  return static_cast<uint32_t>(ms > 1000 ? 1000 : ms);  // never slower than once a second
}

uint32_t Replicas::GetOrCreate(std::string_view name) {
  auto it = by_name_.find(std::string(name));
  if (it != by_name_.end()) return it->second;
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else {
    idx = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Replica& r = slots_[idx];
  r = Replica{};
  r.name = std::string(name);
  r.in_use = true;
  by_name_.emplace(r.name, idx);
  return idx;
}

uint32_t Replicas::Find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? kNoReplica : it->second;
}

namespace {
std::vector<ViewerId>& List(Replica& r, ViewerList list) {
  return list == ViewerList::kSse ? r.sse : r.viewers;
}
}  // namespace

uint32_t Replicas::AddViewer(uint32_t idx, ViewerId v, ViewerList list) {
  std::vector<ViewerId>& l = List(slots_[idx], list);
  l.push_back(v);
  return static_cast<uint32_t>(l.size() - 1);
}

ViewerId Replicas::RemoveViewer(uint32_t idx, uint32_t pos, ViewerList list) {
  std::vector<ViewerId>& l = List(slots_[idx], list);
  ViewerId moved = l.back();
  l[pos] = moved;
  l.pop_back();
  return moved;
}

uint32_t Replicas::AddPoller(uint32_t idx, const Poller& p) {
  std::vector<Poller>& l = slots_[idx].pollers;
  l.push_back(p);
  return static_cast<uint32_t>(l.size() - 1);
}

ViewerId Replicas::RemovePoller(uint32_t idx, uint32_t pos) {
  std::vector<Poller>& l = slots_[idx].pollers;
  const Poller moved = l.back();
  l[pos] = moved;
  l.pop_back();
  return moved.viewer;
}

void Replicas::Deliver(uint32_t idx, SequencedMsg msg) {
  Replica& r = slots_[idx];
  if (msg.Prio()) {
    r.prio_due = true;
    if (r.recent_prio.size() >= kRecentPrio) r.recent_prio.erase(r.recent_prio.begin());
    r.recent_prio.push_back({msg.seq, msg.json, 0, msg.flags});
  }
  r.pending.push_back(std::move(msg));
  if (!r.dirty) {
    r.dirty = true;
    dirty_.push_back(idx);
  }
}

void Replicas::ReleaseIfUnused(uint32_t idx) {
  Replica& r = slots_[idx];
  if (!r.in_use || Audience(r) > 0 || r.joining > 0) return;
  by_name_.erase(r.name);
  r = Replica{};
  free_.push_back(idx);
}

}  // namespace roomcast::room
