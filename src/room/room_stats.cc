#include "room/room_stats.h"

#include <algorithm>
#include <bit>

namespace roomcast::room {

void RoomStats::NoteViewer(uint64_t viewer, uint64_t now_ms) {
  if (viewer != 0) unique_.Add(viewer, now_ms);
}

void RoomStats::RemoveViewers(Transport t, uint32_t n) {
  uint32_t& v = viewers_[Index(t)];
  v -= std::min(v, n);
}

void RoomStats::NoteLag(int shard, uint32_t p99_ms, uint64_t now_ms) {
  if (shard < 0 || shard > 4096) return;
  const size_t s = static_cast<size_t>(shard);
  if (lag_.size() <= s) lag_.resize(s + 1);
  lag_[s] = LagReport{p99_ms, now_ms};
}

uint32_t RoomStats::LagP99(uint64_t now_ms) const {
  uint32_t worst = 0;
  for (const LagReport& r : lag_) {
    if (r.at_ms != 0 && now_ms - r.at_ms <= kLagFreshMs) worst = std::max(worst, r.p99_ms);
  }
  return worst;
}

// Bucket b holds lags in [2^(b-1), 2^b) ms (bucket 0: 0 ms); its bound is 2^b - 1.
void LagHistogram::Observe(uint64_t ms, uint32_t n) {
  const size_t b = std::min<size_t>(static_cast<size_t>(std::bit_width(ms)), kBuckets - 1);
  counts_[b] += n;
  count_ += n;
}

uint32_t LagHistogram::P99() const {
  if (count_ == 0) return 0;
  // The smallest bucket with at least 99% of the observations at or below it.
  const uint64_t want = count_ - count_ / 100;
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= want) return b == 0 ? 0 : static_cast<uint32_t>((1ull << b) - 1);
  }
  return static_cast<uint32_t>((1ull << (kBuckets - 1)) - 1);
}

}  // namespace roomcast::room
