// Reactions (PROTOCOL.md, "Presence, counts and hot rooms"): never messages. The owner adds each
// one to the room's current window in O(1) and, once per --reaction-window-ms, sends one
// `reactions` event with the window's totals. Plain data, owner shard only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roomcast::room {

class ReactionWindow {
 public:
  // At most this many different emotes per window; past it a new one is dropped (Add is false)
  // and counted in Dropped(), so a flood of distinct strings cannot grow an event.
  static constexpr size_t kMaxKinds = 64;

  bool Add(std::string_view emote);
  [[nodiscard]] bool Empty() const { return counts_.empty(); }
  [[nodiscard]] uint64_t Dropped() const { return dropped_; }
  // The window's counts as a JSON object {"<emote>":N,...} (emotes by count, most first, then by
  // name), and a fresh window. "{}" for an empty window.
  [[nodiscard]] std::string TakeCounts();
  // {"type":"reactions","room","window_ms","counts":counts}.
  [[nodiscard]] static std::string EventJson(std::string_view room, uint32_t window_ms,
                                             std::string_view counts);

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint64_t, NameHash, std::equal_to<>> counts_;
  uint64_t dropped_ = 0;
};

}  // namespace roomcast::room
