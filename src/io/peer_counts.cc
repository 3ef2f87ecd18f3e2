#include "io/peer_counts.h"

#include <arpa/inet.h>

#include <cstring>

namespace roomcast::io {

bool PeerKeyFrom(const sockaddr_storage& ss, socklen_t len, PeerKey* key) {
  if (ss.ss_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(&ss);
    PeerKey k;
    k.bytes[10] = 0xff;
    k.bytes[11] = 0xff;
    std::memcpy(&k.bytes[12], &a4->sin_addr, 4);
    *key = k;
    return true;
  }
  if (ss.ss_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(key->bytes.data(), &a6->sin6_addr, 16);
    return true;
  }
  return false;
}

std::string PeerKeyText(const PeerKey& key) {
  char buf[INET6_ADDRSTRLEN] = {};
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(key.bytes.data(), kMapped, sizeof(kMapped)) == 0) {
    inet_ntop(AF_INET, &key.bytes[12], buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, key.bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

size_t PeerCounts::Hash::operator()(const PeerKey& k) const {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, k.bytes.data(), 8);
  std::memcpy(&b, k.bytes.data() + 8, 8);
  uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<size_t>(h ^ (h >> 29));
}

PeerCounts::Stripe& PeerCounts::StripeOf(const PeerKey& key) const {
  return stripes_[(Hash{}(key) >> 7) % kStripes];
}

bool PeerCounts::Acquire(const PeerKey& key) {
  Stripe& s = StripeOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  uint32_t& n = s.counts[key];
  if (n >= cap_) {
    if (n == 0) s.counts.erase(key);  // cap 0 counts nothing (the caller should not ask)
    return false;
  }
  ++n;
  return true;
}

void PeerCounts::Release(const PeerKey& key) {
  Stripe& s = StripeOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.counts.find(key);
  if (it == s.counts.end()) return;
  if (--it->second == 0) s.counts.erase(it);
}

uint32_t PeerCounts::Count(const PeerKey& key) const {
  Stripe& s = StripeOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.counts.find(key);
  return it == s.counts.end() ? 0 : it->second;
}

size_t PeerCounts::Addresses() const {
  size_t n = 0;
  for (Stripe& s : stripes_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.counts.size();
  }
  return n;
}

}  // namespace roomcast::io
