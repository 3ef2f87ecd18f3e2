// Idempotent send: remembers which seq each (room, user, cid) got, for a window of time and up
// to a count, so that a client retrying a send (same cid, e.g. after a reconnect) gets the
// original ack instead of a second copy of its message. One per owner shard; shard-local.
//
// Bounded both ways: entries older than the window are forgotten, and past max_entries the
// oldest go first. Time is Unix ms (the log's clock), so a replayed log refills the window.
//
// A key is kept as two independent 64-bit hashes of (room, user, cid), not as text: no string is
// built or compared per send (it was 17% of the owner's CPU at 470k sends/s). Two different keys
// would have to collide in all 128 bits to be taken for one another.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roomcast::room {

class DedupWindow {
 public:
  DedupWindow(uint64_t window_ms, size_t max_entries);

  // The seq this (room, user, cid) got within the window, else 0. An empty cid never matches.
  [[nodiscard]] uint64_t Find(std::string_view room, std::string_view user, std::string_view cid,
                              int64_t now_ms);
  // The send path in one lookup: the seq (room, user, cid) got within the window, else 0 after
  // remembering that it gets seq_if_new now.
  [[nodiscard]] uint64_t Admit(std::string_view room, std::string_view user, std::string_view cid,
                               int64_t now_ms, uint64_t seq_if_new);
  // Remembers that (room, user, cid) got seq at ts_ms. No-op for an empty cid or a zero window.
  void Remember(std::string_view room, std::string_view user, std::string_view cid, uint64_t seq,
                int64_t ts_ms);
  // Start-up replay, for a log far longer than the window holds: Preload is cheap (a ring of the
  // newest max_entries, no table work); EndPreload remembers what the ring holds, oldest first.
  void Preload(std::string_view room, std::string_view user, std::string_view cid, uint64_t seq,
               int64_t ts_ms);
  void EndPreload();
  [[nodiscard]] size_t Size() const { return by_key_.size(); }
  // Forgets entries older than the window (Find and Remember also do, as they go).
  void Expire(int64_t now_ms);

 private:
  struct Key {
    uint64_t h1, h2;
  };
  static Key KeyOf(std::string_view room, std::string_view user, std::string_view cid);
  struct Entry {
    uint64_t h2;
    uint64_t seq;
    int64_t ts_ms;
    uint64_t order;  // serial of the newest record naming this entry
  };
  using Map = std::unordered_map<uint64_t, Entry>;  // by h1
  // One per Remember, oldest first. The map is reserved for max_entries + 1 up front and so
  // never rehashes: the iterator stays valid until the entry is erased, which only the newest
  // record of a key does (a key remembered again updates its entry in place).
  struct Remembered {
    int64_t ts_ms;
    Map::iterator it;
  };
  void Store(const Key& k, uint64_t seq, int64_t ts_ms);
  uint64_t window_ms_;
  size_t max_entries_;
  Map by_key_;
  std::deque<Remembered> order_;
  uint64_t order_serial_front_ = 0;  // serial of order_.front()
  struct Preloaded {
    Key key;
    uint64_t seq;
    int64_t ts_ms;
  };
  std::vector<Preloaded> preload_;  // a ring of at most max_entries_
  size_t preload_next_ = 0;
};

}  // namespace roomcast::room
