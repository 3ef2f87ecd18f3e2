// HyperLogLog (Flajolet et al., with the small-range linear counting and a sparse start): how many
// distinct items (users; anonymous viewers by connection) a room has seen, in at most 16 KiB per
// sketch and about 0.8% standard error. Sketches merge, so shards' (and nodes') counts combine
// exactly as if one had seen everything. Pure data, one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::room {

class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;  // 2^14 registers: 1.04 / sqrt(16384) = 0.81% error
  static constexpr uint32_t kRegisters = 1u << kPrecision;
  // Below this many distinct registers the sketch stays a sorted list (4 bytes each).
  static constexpr size_t kSparseMax = kRegisters / 16;

  // Adds an item by its 64-bit hash (HashItem spreads a string's bits well enough).
  void Add(uint64_t hash);
  void Merge(const HyperLogLog& other);
  [[nodiscard]] uint64_t Estimate() const;
  [[nodiscard]] bool Empty() const { return sparse_.empty() && dense_.empty(); }
  void Clear();
  // Bytes held (for /metrics and the per-room budget).
  [[nodiscard]] size_t Bytes() const;

  // A compact form to send between shards or nodes, and back.
  [[nodiscard]] std::string Serialize() const;
  [[nodiscard]] bool Deserialize(std::string_view data);

 private:
  void SetRegister(uint32_t idx, uint8_t rho);
  void ToDense();
  // Sparse: (idx << 8 | rho), sorted by idx, one entry per register.
  std::vector<uint32_t> sparse_;
  std::vector<uint8_t> dense_;  // kRegisters entries once dense
};

// A 64-bit hash of a string for HyperLogLog (and other sketches): a keyed mix, not for security.
[[nodiscard]] uint64_t HashItem(std::string_view s);

// Distinct items over a rolling window: one sketch per minute, the last `minutes` merged.
class RollingUnique {
 public:
  explicit RollingUnique(uint32_t minutes = 5) : buckets_(minutes) {}
  void Add(uint64_t hash, uint64_t now_ms);
  // Distinct items added in the window ending now (whole minutes: up to a minute older).
  [[nodiscard]] uint64_t Estimate(uint64_t now_ms);
  // Distinct items ever added (since the epoch began).
  [[nodiscard]] uint64_t Total() const { return total_.Estimate(); }
  [[nodiscard]] const HyperLogLog& TotalSketch() const { return total_; }

 private:
  void Roll(uint64_t now_ms);
  std::vector<HyperLogLog> buckets_;
  uint64_t minute_ = 0;  // the minute buckets_[minute_ % size] holds
  HyperLogLog total_;
};

}  // namespace roomcast::room
