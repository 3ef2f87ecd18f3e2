// RoomStats: the per-room numbers an operator reads at the room's owner (PROTOCOL.md, "Presence,
// counts and hot rooms"; GET /admin/rooms/R): distinct viewers (HyperLogLog, a rolling 5-minute
// window and a total since the epoch began), viewers per transport, the message rate, and the
// fan-out lag the viewer shards report. Plain data, owner shard thread only, driven by plain
// calls in tests. Memory: the six sketches start sparse (a few bytes per distinct viewer) and
// stop at 16 KiB each; the lag reports are one slot per shard.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "room/hot_room.h"
#include "room/hyperloglog.h"

namespace roomcast::room {

// How a viewer is served (mesh::JoinMode is this type).
enum class Transport : uint8_t { kWs, kSse, kPoll };
inline constexpr size_t kTransports = 3;

class RoomStats {
 public:
  // A lag report older than this is ignored (the shards report about once a second).
  static constexpr uint64_t kLagFreshMs = 5000;

  // A viewer joined (counted or not): `viewer` is HashItem of its key (the user name; an
  // anonymous viewer's connection). 0: no key (nothing added).
  void NoteViewer(uint64_t viewer, uint64_t now_ms);
  void AddViewers(Transport t, uint32_t n) { viewers_[Index(t)] += n; }
  // Never below zero (a leave the owner never counted is ignored).
  void RemoveViewers(Transport t, uint32_t n);
  // A message was sequenced in the room.
  void NoteMessage(uint64_t now_ms) { msgs_.Note(now_ms); }
  // Shard `shard` saw p99 fan-out lag `p99_ms` for the room over its last report interval.
  void NoteLag(int shard, uint32_t p99_ms, uint64_t now_ms);

  // --redis: the fleet's distinct viewers as Redis counted them (docs/cluster.md); the larger of
  // these and this node's own counts is told (this node's viewers are part of the fleet's).
  void SetFleetUnique(uint64_t unique_5m, uint64_t total) {
    fleet_5m_ = unique_5m;
    fleet_total_ = total;
  }
  [[nodiscard]] uint64_t Unique5m(uint64_t now_ms) {
    return std::max(unique_.Estimate(now_ms), fleet_5m_);
  }
  [[nodiscard]] uint64_t UniqueTotal() const { return std::max(unique_.Total(), fleet_total_); }
  // The mean over the last five whole seconds.
  [[nodiscard]] double MsgsPerSec(uint64_t now_ms) { return msgs_.PerSecond(now_ms); }
  [[nodiscard]] uint32_t Viewers(Transport t) const { return viewers_[Index(t)]; }
  // The worst shard's p99 among fresh reports (0: none).
  [[nodiscard]] uint32_t LagP99(uint64_t now_ms) const;

 private:
  static size_t Index(Transport t) { return static_cast<size_t>(t) % kTransports; }
  RollingUnique unique_{5};
  RateWindow msgs_;
  std::array<uint32_t, kTransports> viewers_{};
  struct LagReport {
    uint32_t p99_ms = 0;
    uint64_t at_ms = 0;
  };
  std::vector<LagReport> lag_;  // by shard, grown on the first report
  uint64_t fleet_5m_ = 0, fleet_total_ = 0;
};

// Fan-out lag on a viewer shard, per room between two reports: a log-scale histogram of 32
// buckets (1 ms .. about 65 s), 128 bytes.
class LagHistogram {
 public:
  void Observe(uint64_t ms, uint32_t n = 1);
  [[nodiscard]] bool Empty() const { return count_ == 0; }
  // The bucket upper bound at or above the 99th percentile (ms; 0 when empty).
  [[nodiscard]] uint32_t P99() const;
  void Clear() { *this = LagHistogram{}; }

 private:
  static constexpr size_t kBuckets = 32;
  std::array<uint32_t, kBuckets> counts_{};
  uint64_t count_ = 0;
};

}  // namespace roomcast::room
