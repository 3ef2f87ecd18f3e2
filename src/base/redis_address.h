// The Redis instances of --redis: "HOST:PORT[,HOST:PORT...]" (numeric hosts; an IPv6 one in
// brackets), parsed here so that the settings can refuse a bad list before anything starts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::base {

struct RedisAddress {
  std::string host;
  uint16_t port = 0;
  [[nodiscard]] std::string ToString() const;
};

// At most 64 addresses; false with *error set for a bad list.
bool ParseRedisAddresses(std::string_view text, std::vector<RedisAddress>* out, std::string* error);

}  // namespace roomcast::base
