// A log-bucketed latency histogram in the spirit of HdrHistogram: 32 linear sub-buckets per power
// of two, so every recorded value is known within ~3%. Fixed size (no allocation), plain counters,
// trivially copyable: workers write theirs into shared memory and the parent merges them.
// One owner at a time; not thread-safe.
#pragma once

#include <cstdint>

namespace roomcast::load {

class Histogram {
 public:
  static constexpr int kSubBits = 5;  // 32 sub-buckets per octave
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;

  void Record(uint64_t value) {
    ++counts_[Index(value)];
    ++total_;
    if (value > max_) max_ = value;
    if (total_ == 1 || value < min_) min_ = value;
    sum_ += value;
  }
  void Merge(const Histogram& other);
  void Clear();

  [[nodiscard]] uint64_t Count() const { return total_; }
  [[nodiscard]] uint64_t Max() const { return max_; }
  [[nodiscard]] uint64_t Min() const { return total_ ? min_ : 0; }
  [[nodiscard]] double Mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0; }
  // The value at quantile q in [0, 1]: the upper edge of the bucket holding it, capped at Max().
  [[nodiscard]] uint64_t ValueAt(double q) const;

  // Bucket of a value: exact below 32, then 32 sub-buckets per power of two.
  static int Index(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<int>(v);
    const int msb = 63 - __builtin_clzll(v);  // >= kSubBits
    const int shift = msb - kSubBits;
    const int sub = static_cast<int>((v >> shift) & ((1u << kSubBits) - 1));
    return ((shift + 1) << kSubBits) + sub;
  }
  // Largest value that falls into bucket i.
  static uint64_t UpperEdge(int i);

 private:
  uint64_t counts_[kBuckets] = {};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace roomcast::load
