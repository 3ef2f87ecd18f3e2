// Connections per peer address, server-wide (--max-conns-per-ip): every shard's loop counts its
// accepted connections here, so the cap holds however SO_REUSEPORT spreads one address's
// connections over the shards. A fixed number of stripes, each a mutex and a map; an address is
// listed only while it holds a connection, so the table never outgrows the connections held.
// Any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace roomcast::io {

// A peer's IP address in IPv6 form (IPv4 as ::ffff:a.b.c.d), no port.
struct PeerKey {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const PeerKey&) const = default;
};

// The address of an IPv4 or IPv6 sockaddr; false (and *key untouched) for any other family.
[[nodiscard]] bool PeerKeyFrom(const sockaddr_storage& ss, socklen_t len, PeerKey* key);
// The address as text ("127.0.0.2", "::1") for logs.
[[nodiscard]] std::string PeerKeyText(const PeerKey& key);

class PeerCounts {
 public:
  explicit PeerCounts(uint32_t cap) : cap_(cap) {}
  PeerCounts(const PeerCounts&) = delete;
  PeerCounts& operator=(const PeerCounts&) = delete;

  // Counts one more connection from key unless it already holds cap; false: refused, not counted.
  [[nodiscard]] bool Acquire(const PeerKey& key);
  // Uncounts one connection that Acquire counted.
  void Release(const PeerKey& key);
  [[nodiscard]] uint32_t Count(const PeerKey& key) const;
  [[nodiscard]] size_t Addresses() const;  // addresses holding at least one connection
  [[nodiscard]] uint32_t Cap() const { return cap_; }

 private:
  struct Hash {
    size_t operator()(const PeerKey& k) const;
  };
  struct alignas(64) Stripe {
    mutable std::mutex mu;
    std::unordered_map<PeerKey, uint32_t, Hash> counts;
  };
  static constexpr size_t kStripes = 16;
  Stripe& StripeOf(const PeerKey& key) const;

  const uint32_t cap_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace roomcast::io
