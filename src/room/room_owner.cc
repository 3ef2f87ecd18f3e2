#include "roomcast/room_owner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "roomcast/json_writer.h"

namespace roomcast::room {

int OwnerShardOf(std::string_view room, int shards) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : room) {
    h ^= ch;
    h *= 16777619u;
  }
  return static_cast<int>(h % static_cast<uint32_t>(shards));
}

OwnerRoom::OwnerRoom(std::string name, std::string epoch, size_t history_cap, int shards)
    : name_(std::move(name)),
      epoch_(std::move(epoch)),
      history_cap_(history_cap),
      per_shard_(static_cast<size_t>(shards), 0) {}

std::string OwnerRoom::MessageId(std::string_view cid, uint64_t seq) const {
  if (!cid.empty()) return std::string(cid);
  return "s-" + epoch_ + "-" + std::to_string(seq);
}

const SequencedMsg& OwnerRoom::Sequence(const PublishInput& in) {
  SequencedMsg m;
  m.seq = ++seq_;
  m.sequenced_ms = in.mono_ms;
  std::string& j = m.json;
  j.reserve(96 + in.room.size() + in.user.size() + in.text.size() + in.cid.size());
  j += R"({"type":"msg","room":)";
  json::AppendString(&j, in.room);
  j += R"(,"seq":)";
  json::AppendUint(&j, m.seq);
  j += R"(,"id":)";
  json::AppendString(&j, MessageId(in.cid, m.seq));
  j += R"(,"user":)";
  json::AppendString(&j, in.user);
  j += R"(,"text":)";
  json::AppendString(&j, in.text);
  j += R"(,"ts":)";
  json::AppendInt(&j, in.ts_ms);
  j += '}';
  if (history_cap_ == 0) {
    history_.clear();
    history_.push_back(std::move(m));  // kept only as the return value
    const SequencedMsg& back = history_.back();
    return back;
  }
  if (history_.size() >= history_cap_) history_.pop_front();
  history_.push_back(std::move(m));
  return history_.back();
}

std::vector<std::string> OwnerRoom::Recent(size_t n) const {
  if (history_cap_ == 0) return {};
  if (n > history_.size()) n = history_.size();
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = history_.size() - n; i < history_.size(); ++i) out.push_back(history_[i].json);
  return out;
}

OwnerRoom::SinceResult OwnerRoom::Since(uint64_t since, size_t max, Cap cap) const {
  SinceResult r;
  if (since > seq_) since = 0;  // from an earlier epoch: start this one from its beginning
  r.last = since;
  if (since == seq_) return r;
  const uint64_t oldest = history_cap_ == 0 || history_.empty() ? seq_ + 1 : history_.front().seq;
  uint64_t first = std::max(since + 1, oldest);  // first seq we can return
  const uint64_t available = seq_ + 1 - first;
  if (available > max && cap == Cap::kNewest) first = seq_ + 1 - max;
  if (first > since + 1) {
    r.gap_from = since + 1;
    r.gap_to = first - 1;
    r.last = r.gap_to;
  }
  if (first > seq_ || max == 0) return r;
  const uint64_t end = std::min<uint64_t>(seq_, first + max - 1);  // last seq returned
  r.msgs.reserve(static_cast<size_t>(end - first + 1));
  for (size_t i = static_cast<size_t>(first - oldest); i < history_.size(); ++i) {
    if (history_[i].seq > end) break;
    r.msgs.push_back(history_[i].json);
  }
  r.last = end;
  return r;
}

uint32_t OwnerRoom::AddViewers(int shard, uint32_t n) {
  per_shard_[static_cast<size_t>(shard)] += n;
  online_ += n;
  return per_shard_[static_cast<size_t>(shard)];
}

uint32_t OwnerRoom::RemoveViewers(int shard, uint32_t n) {
  uint32_t& c = per_shard_[static_cast<size_t>(shard)];
  if (n > c) n = c;  // never below zero, whatever arrives
  c -= n;
  online_ -= n;
  return c;
}

OwnerRooms::OwnerRooms(int shards, size_t history_cap, size_t max_rooms)
    : shards_(shards), history_cap_(history_cap), max_rooms_(max_rooms) {
  std::random_device rd;
  epoch_salt_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
}

OwnerRoom* OwnerRooms::Find(std::string_view name) {
  auto it = rooms_.find(std::string(name));
  return it == rooms_.end() ? nullptr : it->second.get();
}

OwnerRoom* OwnerRooms::GetOrCreate(std::string_view name) {
  auto it = rooms_.find(std::string(name));
  if (it != rooms_.end()) return it->second.get();
  if (rooms_.size() >= max_rooms_) return nullptr;
  // A new epoch per room and process start: history is in memory only, so a restart starts a
  // new epoch and clients resuming with the old one can tell.
  uint64_t x = epoch_salt_ ^ (rooms_.size() * 0x9E3779B97F4A7C15ull);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(x));
  auto room =
      std::make_unique<OwnerRoom>(std::string(name), std::string(buf, 8), history_cap_, shards_);
  OwnerRoom* p = room.get();
  rooms_.emplace(std::string(name), std::move(room));
  return p;
}

}  // namespace roomcast::room
