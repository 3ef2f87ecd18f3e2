// Which Redis instance holds a room: jump consistent hash (Lamping and Veach, 2014) of a stable
// 64-bit hash of the room id (FNV-1a), so every node picks the same instance, and growing the list
// from n to n+1 instances moves only about 1/(n+1) of the rooms.
#pragma once

#include <cstdint>
#include <string_view>

namespace roomcast::cluster {

[[nodiscard]] inline uint64_t RoomHash64(std::string_view room) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : room) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A bucket in [0, buckets); buckets >= 1.
[[nodiscard]] inline uint32_t JumpHash(uint64_t key, uint32_t buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ull + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(1ll << 31) /
                                                           static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

[[nodiscard]] inline uint32_t InstanceOf(std::string_view room, uint32_t instances) {
  return JumpHash(RoomHash64(room), instances);
}

}  // namespace roomcast::cluster
