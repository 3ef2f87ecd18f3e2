// The shard-to-shard mesh: one SPSC ring per ordered pair of shards, and the wake-up rule.
//
// Shards share no data; they pass MeshItems. An item usually carries a heap object whose ownership
// moves to the receiving shard with the item (the receiver frees it), so no memory is ever used by
// two shards at once. A sender pushes items while it works and calls Flush() once before it sleeps:
// that retries what did not fit (a full ring is back-pressure, kept in a local overflow list and
// counted, never a wait) and wakes each peer that got items and is asleep, with one MSG_RING.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "io/shard_loop.h"
#include "mesh/spsc_ring.h"

namespace roomcast::mesh {

struct Item {
  uint32_t kind;  // meaning is the caller's
  uint32_t from;  // sending shard
  uint64_t a;     // small payloads, meaning is the caller's
  void* ptr;      // a heap object whose ownership moves with the item, or null
};

// Shared by all shards; built before the shard threads start.
class Mesh {
 public:
  Mesh(int shards, size_t ring_capacity);
  int Shards() const { return shards_; }
  SpscRing<Item>& Ring(int from, int to) {
    return *rings_[static_cast<size_t>(from * shards_ + to)];
  }
  // Each shard registers its loop once its ring exists; peers read it to wake that shard.
  void Register(int shard, io::Loop* loop) { loops_[static_cast<size_t>(shard)].store(loop); }
  io::Loop* LoopOf(int shard) { return loops_[static_cast<size_t>(shard)].load(); }

 private:
  int shards_;
  std::vector<std::unique_ptr<SpscRing<Item>>> rings_;
  std::unique_ptr<std::atomic<io::Loop*>[]> loops_;
};

struct EndpointStats {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t ring_full = 0;  // pushes that found the ring full and went to the overflow list
  uint64_t wakeups = 0;
};

// One shard's view of the mesh. Its own thread only.
class Endpoint {
 public:
  Endpoint(Mesh* mesh, int self, io::Loop* loop);
  int Self() const { return self_; }
  int Shards() const { return mesh_->Shards(); }

  // Queues an item for shard `to` (to == Self() is allowed: delivered by the next Drain).
  void Send(int to, Item item);
  // Before sleeping: retries overflow and wakes sleeping peers that have new items.
  void Flush();
  // Pops up to max items from every inbound ring (and the self queue) into fn(const Item&).
  template <typename Fn>
  size_t Drain(size_t max_per_ring, Fn&& fn) {
    size_t n = 0;
    if (!self_queue_.empty()) {
      std::vector<Item> local;
      local.swap(self_queue_);
      for (const Item& it : local) fn(it);
      n += local.size();
    }
    for (int from = 0; from < mesh_->Shards(); ++from) {
      if (from == self_) continue;
      n += mesh_->Ring(from, self_).PopBatch(max_per_ring, fn);
    }
    stats_.received += n;
    return n;
  }
  [[nodiscard]] bool HasInbound();
  // After the shard threads have stopped (main thread): hands every item still queued to this
  // endpoint, or waiting in its overflow lists, to fn so their payloads can be freed.
  template <typename Fn>
  void DiscardAll(Fn&& fn) {
    Drain(SIZE_MAX, fn);
    for (auto& over : overflow_) {
      for (const Item& it : over) fn(it);
      over.clear();
    }
    overflow_count_ = 0;
  }
  [[nodiscard]] bool HasOverflow() const { return overflow_count_ > 0; }
  const EndpointStats& Stats() const { return stats_; }

 private:
  Mesh* mesh_;
  int self_;
  io::Loop* loop_;
  std::vector<Item> self_queue_;
  std::vector<std::vector<Item>> overflow_;  // per destination, in order
  size_t overflow_count_ = 0;
  std::vector<uint8_t> pushed_;  // per destination: items pushed since the last Flush
  EndpointStats stats_;
};

}  // namespace roomcast::mesh
