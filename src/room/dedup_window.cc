#include "roomcast/dedup_window.h"

namespace roomcast::room {

std::string DedupWindow::Key(std::string_view room, std::string_view user, std::string_view cid) {
  std::string k;
  k.reserve(room.size() + user.size() + cid.size() + 2);
  k.append(room).push_back('\0');
  k.append(user).push_back('\0');
  k.append(cid);
  return k;
}

void DedupWindow::Expire(int64_t now_ms) {
  const int64_t oldest = now_ms - static_cast<int64_t>(window_ms_);
  while (!order_.empty() && (order_.front().first < oldest || order_.size() > max_entries_)) {
    auto it = by_key_.find(order_.front().second);
    // A key remembered again later has a newer entry: only drop the one this record names.
    if (it != by_key_.end() && it->second.ts_ms == order_.front().first) by_key_.erase(it);
    order_.pop_front();
  }
}

uint64_t DedupWindow::Find(std::string_view room, std::string_view user, std::string_view cid,
                           int64_t now_ms) {
  if (cid.empty() || window_ms_ == 0) return 0;
  Expire(now_ms);
  auto it = by_key_.find(Key(room, user, cid));
  if (it == by_key_.end()) return 0;
  if (it->second.ts_ms < now_ms - static_cast<int64_t>(window_ms_)) return 0;
  return it->second.seq;
}

void DedupWindow::Remember(std::string_view room, std::string_view user, std::string_view cid,
                           uint64_t seq, int64_t ts_ms) {
  if (cid.empty() || window_ms_ == 0 || max_entries_ == 0) return;
  std::string key = Key(room, user, cid);
  by_key_[key] = Entry{seq, ts_ms};
  order_.emplace_back(ts_ms, std::move(key));
  Expire(ts_ms);
}

}  // namespace roomcast::room
