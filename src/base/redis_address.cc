#include "base/redis_address.h"

#include <charconv>

namespace roomcast::base {

std::string RedisAddress::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

bool ParseOne(std::string_view item, RedisAddress* out, std::string* error) {
  std::string_view host;
  std::string_view port;
  if (item.starts_with('[')) {
    const size_t close = item.find(']');
    if (close == std::string_view::npos || close + 1 >= item.size() || item[close + 1] != ':') {
      *error = "bad Redis address '" + std::string(item) + "' (expected [IPv6]:PORT)";
      return false;
    }
    host = item.substr(1, close - 1);
    port = item.substr(close + 2);
  } else {
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || item.find(':') != colon) {
      *error = "bad Redis address '" + std::string(item) + "' (expected HOST:PORT)";
      return false;
    }
    host = item.substr(0, colon);
    port = item.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    *error = "bad Redis address '" + std::string(item) + "' (host and a port 1-65535)";
    return false;
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

bool ParseRedisAddresses(std::string_view text, std::vector<RedisAddress>* out,
                         std::string* error) {
  out->clear();
  while (true) {
    const size_t comma = text.find(',');
    RedisAddress a;
    if (!ParseOne(text.substr(0, comma), &a, error)) return false;
    out->push_back(std::move(a));
    if (out->size() > 64) {
      *error = "more than 64 Redis addresses";
      return false;
    }
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace roomcast::base
