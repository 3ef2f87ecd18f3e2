#include "room/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace roomcast::room {
namespace {

constexpr uint64_t kMsPerMinute = 60'000;

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t HashItem(std::string_view s) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= uint64_t{static_cast<unsigned char>(s[i + k])} << (8 * k);
    h = Mix(h ^ w);
  }
  uint64_t w = 0;
  for (int k = 0; i < s.size(); ++i, ++k)
    w |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * k);
  return Mix(h ^ w ^ 0xff);
}

void HyperLogLog::Add(uint64_t hash) {
  uint32_t idx = static_cast<uint32_t>(hash >> (64 - kPrecision));
  uint64_t rest = (hash << kPrecision) | (uint64_t{1} << (kPrecision - 1));  // a stop bit
  auto rho = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  SetRegister(idx, rho);
}

void HyperLogLog::SetRegister(uint32_t idx, uint8_t rho) {
  if (!dense_.empty()) {
    dense_[idx] = std::max(dense_[idx], rho);
    return;
  }
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), idx << 8);
  if (it != sparse_.end() && (*it >> 8) == idx) {
    if ((*it & 0xff) < rho) *it = (idx << 8) | rho;
    return;
  }
  sparse_.insert(it, (idx << 8) | rho);
  if (sparse_.size() > kSparseMax) ToDense();
}

void HyperLogLog::ToDense() {
  dense_.assign(kRegisters, 0);
  for (uint32_t e : sparse_) dense_[e >> 8] = static_cast<uint8_t>(e & 0xff);
  sparse_.clear();
  sparse_.shrink_to_fit();
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (!other.dense_.empty()) {
    if (dense_.empty()) ToDense();
    for (uint32_t i = 0; i < kRegisters; ++i) dense_[i] = std::max(dense_[i], other.dense_[i]);
    return;
  }
  for (uint32_t e : other.sparse_) SetRegister(e >> 8, static_cast<uint8_t>(e & 0xff));
}

uint64_t HyperLogLog::Estimate() const {
  const double m = kRegisters;
  double sum = 0;
  uint32_t zeros = 0;
  if (dense_.empty()) {
    zeros = kRegisters - static_cast<uint32_t>(sparse_.size());
    sum = zeros;  // 2^-0 for every empty register
    for (uint32_t e : sparse_) sum += std::ldexp(1.0, -static_cast<int>(e & 0xff));
  } else {
    for (uint8_t r : dense_) {
      sum += std::ldexp(1.0, -static_cast<int>(r));
      zeros += r == 0 ? 1 : 0;
    }
  }
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double e = alpha * m * m / sum;
  // Small range: linear counting is the better estimate while empty registers remain.
  if (zeros != 0) {
    double lc = m * std::log(m / zeros);
    if (lc <= 5.0 * m / 2.0 || e <= 5.0 * m / 2.0) e = lc;
  }
  return static_cast<uint64_t>(std::llround(e));
}

void HyperLogLog::Clear() {
  sparse_.clear();
  dense_.clear();
  dense_.shrink_to_fit();
}

size_t HyperLogLog::Bytes() const {
  return sparse_.capacity() * sizeof(uint32_t) + dense_.capacity();
}

std::string HyperLogLog::Serialize() const {
  std::string out;
  if (!dense_.empty()) {
    out.push_back('D');
    out.append(reinterpret_cast<const char*>(dense_.data()), dense_.size());
    return out;
  }
  out.push_back('S');
  for (uint32_t e : sparse_) {
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((e >> (8 * k)) & 0xff));
  }
  return out;
}

bool HyperLogLog::Deserialize(std::string_view data) {
  Clear();
  if (data.empty()) return false;
  std::string_view body = data.substr(1);
  if (data[0] == 'D' && body.size() == kRegisters) {
    dense_.assign(body.begin(), body.end());
    if (std::all_of(dense_.begin(), dense_.end(), [](uint8_t r) { return r <= 64; })) return true;
    Clear();
    return false;
  }
  if (data[0] != 'S' || body.size() % 4 != 0 || body.size() / 4 > kSparseMax) return false;
  for (size_t i = 0; i < body.size(); i += 4) {
    uint32_t e = 0;
    for (int k = 0; k < 4; ++k) e |= uint32_t{static_cast<unsigned char>(body[i + k])} << (8 * k);
    uint32_t idx = e >> 8;
    auto rho = static_cast<uint8_t>(e & 0xff);
    if (idx >= kRegisters || rho == 0 || rho > 64) {
      Clear();
      return false;
    }
    SetRegister(idx, rho);
  }
  return true;
}

void RollingUnique::Roll(uint64_t now_ms) {
  uint64_t minute = now_ms / kMsPerMinute;
  if (minute <= minute_) return;
  uint64_t steps = std::min<uint64_t>(minute - minute_, buckets_.size());
  for (uint64_t s = 1; s <= steps; ++s) buckets_[(minute_ + s) % buckets_.size()].Clear();
  minute_ = minute;
}

void RollingUnique::Add(uint64_t hash, uint64_t now_ms) {
  Roll(now_ms);
  buckets_[minute_ % buckets_.size()].Add(hash);
  total_.Add(hash);
}

uint64_t RollingUnique::Estimate(uint64_t now_ms) {
  Roll(now_ms);
  HyperLogLog merged;
  for (const HyperLogLog& b : buckets_) merged.Merge(b);
  return merged.Estimate();
}

}  // namespace roomcast::room
