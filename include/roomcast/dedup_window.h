// Idempotent send: remembers which seq each (room, user, cid) got, for a window of time and up
// to a count, so that a client retrying a send (same cid, e.g. after a reconnect) gets the
// original ack instead of a second copy of its message. One per owner shard; shard-local.
//
// Bounded both ways: entries older than the window are forgotten, and past max_entries the
// oldest go first. Time is Unix ms (the log's clock), so a replayed log refills the window.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roomcast::room {

class DedupWindow {
 public:
  DedupWindow(uint64_t window_ms, size_t max_entries)
      : window_ms_(window_ms), max_entries_(max_entries) {}

  // The seq this (room, user, cid) got within the window, else 0. An empty cid never matches.
  [[nodiscard]] uint64_t Find(std::string_view room, std::string_view user, std::string_view cid,
                              int64_t now_ms);
  // Remembers that (room, user, cid) got seq at ts_ms. No-op for an empty cid or a zero window.
  void Remember(std::string_view room, std::string_view user, std::string_view cid, uint64_t seq,
                int64_t ts_ms);
  [[nodiscard]] size_t Size() const { return by_key_.size(); }
  // Forgets entries older than the window (Find and Remember also do, as they go).
  void Expire(int64_t now_ms);

 private:
  static std::string Key(std::string_view room, std::string_view user, std::string_view cid);
  struct Entry {
    uint64_t seq;
    int64_t ts_ms;
  };
  uint64_t window_ms_;
  size_t max_entries_;
  std::unordered_map<std::string, Entry> by_key_;
  std::deque<std::pair<int64_t, std::string>> order_;  // (ts, key), oldest first
};

}  // namespace roomcast::room
