#include "mesh/mesh.h"

namespace roomcast::mesh {

Mesh::Mesh(int shards, size_t ring_capacity)
    : shards_(shards),
      loops_(std::make_unique<std::atomic<io::Loop*>[]>(static_cast<size_t>(shards))) {
  rings_.reserve(static_cast<size_t>(shards * shards));
  for (int i = 0; i < shards * shards; ++i) {
    const bool self = (i / shards) == (i % shards);
    rings_.push_back(std::make_unique<SpscRing<Item>>(self ? 2 : ring_capacity));
  }
  for (int i = 0; i < shards; ++i) loops_[static_cast<size_t>(i)].store(nullptr);
}

Endpoint::Endpoint(Mesh* mesh, int self, io::Loop* loop)
    : mesh_(mesh),
      self_(self),
      loop_(loop),
      overflow_(static_cast<size_t>(mesh->Shards())),
      pushed_(static_cast<size_t>(mesh->Shards()), 0) {}

void Endpoint::Send(int to, Item item) {
  item.from = static_cast<uint32_t>(self_);
  ++stats_.sent;
  if (to == self_) {
    self_queue_.push_back(item);
    return;
  }
  auto& over = overflow_[static_cast<size_t>(to)];
  // Order matters: once anything waits in overflow, later items wait behind it.
  if (over.empty() && mesh_->Ring(self_, to).TryPush(item)) {
    pushed_[static_cast<size_t>(to)] = 1;
    return;
  }
  ++stats_.ring_full;
  over.push_back(item);
  ++overflow_count_;
}

void Endpoint::Flush() {
  for (int to = 0; to < mesh_->Shards(); ++to) {
    if (to == self_) continue;
    auto& over = overflow_[static_cast<size_t>(to)];
    if (!over.empty()) {
      auto& ring = mesh_->Ring(self_, to);
      size_t i = 0;
      while (i < over.size() && ring.TryPush(over[i])) ++i;
      if (i) {
        over.erase(over.begin(), over.begin() + static_cast<long>(i));
        overflow_count_ -= i;
        pushed_[static_cast<size_t>(to)] = 1;
      }
    }
    if (!pushed_[static_cast<size_t>(to)]) continue;
    pushed_[static_cast<size_t>(to)] = 0;
    io::Loop* peer = mesh_->LoopOf(to);
    if (peer && peer->ClaimSleeper()) {
      loop_->WakePeer(peer->RingFd());
      ++stats_.wakeups;
    }
  }
}

bool Endpoint::HasInbound() {
  if (!self_queue_.empty()) return true;
  for (int from = 0; from < mesh_->Shards(); ++from) {
    if (from != self_ && !mesh_->Ring(from, self_).EmptyApprox()) return true;
  }
  return false;
}

}  // namespace roomcast::mesh
