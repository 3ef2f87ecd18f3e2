#include "roomcast/room_replica.h"

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

uint32_t Replicas::AddViewer(uint32_t idx, ViewerId v) {
  Replica& r = slots_[idx];
  r.viewers.push_back(v);
  return static_cast<uint32_t>(r.viewers.size() - 1);
}

ViewerId Replicas::RemoveViewer(uint32_t idx, uint32_t pos) {
  Replica& r = slots_[idx];
  ViewerId moved = r.viewers.back();
  r.viewers[pos] = moved;
  r.viewers.pop_back();
  return moved;
}

void Replicas::Deliver(uint32_t idx, SequencedMsg msg) {
  Replica& r = slots_[idx];
  r.pending.push_back(std::move(msg));
  if (!r.dirty) {
    r.dirty = true;
    dirty_.push_back(idx);
  }
}

void Replicas::ReleaseIfUnused(uint32_t idx) {
  Replica& r = slots_[idx];
  if (!r.in_use || !r.viewers.empty() || r.joining > 0) return;
  by_name_.erase(r.name);
  r = Replica{};
  free_.push_back(idx);
}

}  // namespace roomcast::room
