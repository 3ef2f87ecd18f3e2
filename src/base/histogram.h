// A histogram in Prometheus' shape, written by one thread and read by any (the /metrics
// renderer): fixed ascending upper bounds in the unit Observe() takes, one relaxed counter per
// bucket (not cumulative; the last one is +Inf) and the sum. No read-modify-write across threads:
// only the owning thread writes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace roomcast {

class Histogram {
 public:
  static constexpr size_t kMaxBounds = 16;
  // bounds: ascending, at most kMaxBounds, alive as long as the histogram (a constexpr array).
  explicit Histogram(std::span<const uint64_t> bounds)
      : bounds_(bounds.size() <= kMaxBounds ? bounds : bounds.first(kMaxBounds)) {}

  // The owning thread only.
  void Observe(uint64_t v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    Bump(counts_[i], 1);
    Bump(sum_, v);
  }

  // Any thread.
  [[nodiscard]] std::span<const uint64_t> Bounds() const { return bounds_; }
  // Observations in bucket i alone (i == Bounds().size(): above the last bound).
  [[nodiscard]] uint64_t BucketCount(size_t i) const {
    return counts_[i].load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  static void Bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::span<const uint64_t> bounds_;
  std::atomic<uint64_t> counts_[kMaxBounds + 1] = {};
  std::atomic<uint64_t> sum_{0};
};

}  // namespace roomcast
