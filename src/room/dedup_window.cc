#include "room/dedup_window.h"

#include <cstring>

namespace roomcast::room {

namespace {

// A word-at-a-time multiply-xorshift hash of each part and its length, from two different
// seeds and multipliers, so that the two results are independent enough for a 128-bit identity.
inline uint64_t MixWord(uint64_t h, uint64_t w, uint64_t k) {
  h = (h ^ w) * k;
  return h ^ (h >> 29);
}

void MixPart(uint64_t* h1, uint64_t* h2, std::string_view part) {
  constexpr uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xC2B2AE3D27D4EB4Full;
  const char* p = part.data();
  size_t n = part.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    *h1 = MixWord(*h1, w, k1);
    *h2 = MixWord(*h2, w + 0x632BE59BD9B4E019ull, k2);
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n != 0) std::memcpy(&w, p, n);  // an empty view may have no data pointer at all
  // The length ends the part: ("ab","c") != ("a","bc").
  w ^= static_cast<uint64_t>(part.size()) << 56;
  *h1 = MixWord(*h1, w, k1);
  *h2 = MixWord(*h2, w + 0x632BE59BD9B4E019ull, k2);
}

}  // namespace

DedupWindow::Key DedupWindow::KeyOf(std::string_view room, std::string_view user,
                                    std::string_view cid) {
  Key k{0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  for (std::string_view part : {room, user, cid}) MixPart(&k.h1, &k.h2, part);
  k.h1 = MixWord(k.h1, k.h1 >> 31, 0xFF51AFD7ED558CCDull);
  k.h2 = MixWord(k.h2, k.h2 >> 33, 0xC4CEB9FE1A85EC53ull);
  return k;
}

DedupWindow::DedupWindow(uint64_t window_ms, size_t max_entries)
    : window_ms_(window_ms), max_entries_(max_entries) {
  if (window_ms_ != 0 && max_entries_ != 0) by_key_.reserve(max_entries_ + 1);
}

void DedupWindow::Expire(int64_t now_ms) {
  const int64_t oldest = now_ms - static_cast<int64_t>(window_ms_);
  while (!order_.empty() && (order_.front().ts_ms < oldest || order_.size() > max_entries_)) {
    // A key remembered again later has a newer record: only its newest record erases it.
    const Remembered& r = order_.front();
    if (r.it->second.order == order_serial_front_) {
      by_key_.erase(r.it);
    }
    order_.pop_front();
    ++order_serial_front_;
  }
}

void DedupWindow::Store(const Key& k, uint64_t seq, int64_t ts_ms) {
  auto [it, fresh] = by_key_.try_emplace(k.h1, Entry{k.h2, seq, ts_ms, 0});
  if (!fresh) it->second = Entry{k.h2, seq, ts_ms, 0};
  it->second.order = order_serial_front_ + order_.size();
  order_.push_back(Remembered{ts_ms, it});
  Expire(ts_ms);
}

uint64_t DedupWindow::Admit(std::string_view room, std::string_view user, std::string_view cid,
                            int64_t now_ms, uint64_t seq_if_new) {
  if (cid.empty() || window_ms_ == 0 || max_entries_ == 0) return 0;
  Expire(now_ms);
  const Key k = KeyOf(room, user, cid);
  auto it = by_key_.find(k.h1);
  if (it != by_key_.end() && it->second.h2 == k.h2 &&
      it->second.ts_ms >= now_ms - static_cast<int64_t>(window_ms_)) {
    return it->second.seq;
  }
  Store(k, seq_if_new, now_ms);
  return 0;
}

uint64_t DedupWindow::Find(std::string_view room, std::string_view user, std::string_view cid,
                           int64_t now_ms) {
  if (cid.empty() || window_ms_ == 0) return 0;
  Expire(now_ms);
  const Key k = KeyOf(room, user, cid);
  auto it = by_key_.find(k.h1);
  if (it == by_key_.end() || it->second.h2 != k.h2) return 0;
  if (it->second.ts_ms < now_ms - static_cast<int64_t>(window_ms_)) return 0;
  return it->second.seq;
}

void DedupWindow::Remember(std::string_view room, std::string_view user, std::string_view cid,
                           uint64_t seq, int64_t ts_ms) {
  if (cid.empty() || window_ms_ == 0 || max_entries_ == 0) return;
  Store(KeyOf(room, user, cid), seq, ts_ms);
}

void DedupWindow::Preload(std::string_view room, std::string_view user, std::string_view cid,
                          uint64_t seq, int64_t ts_ms) {
  if (cid.empty() || window_ms_ == 0 || max_entries_ == 0) return;
  Preloaded p{KeyOf(room, user, cid), seq, ts_ms};
  if (preload_.size() < max_entries_) {
    preload_.push_back(p);
  } else {
    preload_[preload_next_] = p;
    preload_next_ = (preload_next_ + 1) % max_entries_;
  }
}

void DedupWindow::EndPreload() {
  const size_t n = preload_.size();
  for (size_t i = 0; i < n; ++i) {
    const Preloaded& p = preload_[(preload_next_ + i) % n];
    Store(p.key, p.seq, p.ts_ms);
  }
  std::vector<Preloaded>().swap(preload_);
  preload_next_ = 0;
}

}  // namespace roomcast::room
