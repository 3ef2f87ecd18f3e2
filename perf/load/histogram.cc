// Histogram merge and quantiles.
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace roomcast::load {

void Histogram::Merge(const Histogram& other) {
  if (other.total_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  if (total_ == 0 || other.min_ < min_) min_ = other.min_;
  total_ += other.total_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::Clear() { *this = Histogram(); }

uint64_t Histogram::UpperEdge(int i) {
  if (i < (1 << kSubBits)) return static_cast<uint64_t>(i);
  const int shift = (i >> kSubBits) - 1;
  const uint64_t sub = static_cast<uint64_t>(i & ((1 << kSubBits) - 1));
  const uint64_t low = ((uint64_t{1} << kSubBits) | sub) << shift;
  return low + ((uint64_t{1} << shift) - 1);
}

uint64_t Histogram::ValueAt(double q) const {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(UpperEdge(i), max_);
  }
  return max_;
}

}  // namespace roomcast::load
