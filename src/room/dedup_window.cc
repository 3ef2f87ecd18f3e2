#include "roomcast/dedup_window.h"

namespace roomcast::room {

namespace {

// FNV-1a over the parts with a separator byte, from two different starting points and byte
// orders, so that the two hashes are independent enough for a 128-bit identity.
void Mix(uint64_t* h, std::string_view part) {
  for (unsigned char c : part) {
    *h ^= c;
    *h *= 0x100000001b3ull;
  }
  *h ^= 0xff;  // the separator: ("ab","c") and ("a","bc") differ
  *h *= 0x100000001b3ull;
}

void MixReversed(uint64_t* h, std::string_view part) {
  for (size_t i = part.size(); i > 0; --i) {
    *h ^= static_cast<unsigned char>(part[i - 1]);
    *h *= 0x100000001b3ull;
    *h ^= *h >> 29;
  }
  *h ^= 0xfe;
  *h *= 0x100000001b3ull;
}

}  // namespace

DedupWindow::Key DedupWindow::KeyOf(std::string_view room, std::string_view user,
                                    std::string_view cid) {
  Key k{0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  for (std::string_view part : {room, user, cid}) {
    Mix(&k.h1, part);
    MixReversed(&k.h2, part);
  }
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

}  // namespace roomcast::room
