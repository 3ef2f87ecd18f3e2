// Space-separated decimal fields, as the Redis payloads and rule values roomcast writes carry
// them ("<flags> <target> <ts> ..."). Plain functions, no allocation.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace roomcast::base {

// Reads the unsigned decimal at the front of *s, up to the next space (or the end), and removes
// it and that space from *s. False (and *s as it was, *out unspecified) when it is not one.
inline bool TakeU64(std::string_view* s, uint64_t* out) {
  const size_t sp = s->find(' ');
  const std::string_view num = s->substr(0, sp);
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), *out);
  if (ec != std::errc() || end != num.data() + num.size()) return false;
  s->remove_prefix(sp == std::string_view::npos ? s->size() : sp + 1);
  return true;
}

}  // namespace roomcast::base
