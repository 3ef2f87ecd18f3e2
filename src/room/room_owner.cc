#include "room/room_owner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "auth/roles.h"
#include "base/json_writer.h"

namespace roomcast::room {

int OwnerShardOf(std::string_view room, int shards) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : room) {
    h ^= ch;
    h *= 16777619u;
  }
  return static_cast<int>(h % static_cast<uint32_t>(shards));
}

namespace {

// First entry of a seq-ordered deque with seq >= s.
template <typename Deque>
auto LowerBound(Deque& d, uint64_t s) {
  return std::lower_bound(d.begin(), d.end(), s,
                          [](const SequencedMsg& m, uint64_t v) { return m.seq < v; });
}

// Inserts m in seq order unless its seq is there already; returns false when it was.
bool InsertOrdered(std::deque<SequencedMsg>& d, SequencedMsg m) {
  if (d.empty() || d.back().seq < m.seq) {
    d.push_back(std::move(m));
    return true;
  }
  auto it = LowerBound(d, m.seq);
  if (it != d.end() && it->seq == m.seq) return false;
  d.insert(it, std::move(m));
  return true;
}

}  // namespace

std::string GapJson(std::string_view room, uint64_t from, uint64_t to, std::string_view new_epoch) {
  std::string gap = R"({"type":"gap","room":)";
  json::AppendString(&gap, room);
  gap += R"(,"from":)";
  json::AppendUint(&gap, from);
  gap += R"(,"to":)";
  json::AppendUint(&gap, to);
  if (!new_epoch.empty()) {
    gap += R"(,"epoch":)";
    json::AppendString(&gap, new_epoch);
    gap += R"(,"reset":true)";
  }
  gap += '}';
  return gap;
}

namespace {

// What leaves the owner: the event without its owner-only fields.
SequencedMsg Copy(const SequencedMsg& m) { return {m.seq, m.json, 0, m.flags, m.lost_from}; }

// A kEvLost placeholder for from..to.
SequencedMsg LostPlaceholder(std::string_view room, uint64_t from, uint64_t to) {
  return SequencedMsg{to, GapJson(room, from, to), 0, kEvLost, from};
}

// The first seq an entry stands for (lost_from for a placeholder).
uint64_t FirstSeqOf(const SequencedMsg& m) { return m.Lost() ? m.lost_from : m.seq; }

}  // namespace

OwnerRoom::OwnerRoom(std::string name, std::string epoch, size_t history_cap, int shards,
                     size_t prio_cap)
    : name_(std::move(name)),
      epoch_(std::move(epoch)),
      history_cap_(history_cap),
      prio_cap_(prio_cap),
      per_shard_(static_cast<size_t>(shards), 0) {}

uint64_t UserTag(std::string_view user) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : user) h = (h ^ ch) * 0x100000001B3ull;
  return h == UINT64_MAX ? 1 : h + 1;
}

std::string OwnerRoom::MessageId(std::string_view cid, uint64_t seq) const {
  if (!cid.empty()) return std::string(cid);
  return "s-" + epoch_ + "-" + std::to_string(seq);
}

void OwnerRoom::TrimHistory() {
  const size_t keep = history_cap_ == 0 ? 1 : history_cap_;  // with 0, the last is the result
  while (history_.size() > keep) history_.pop_front();
  while (prio_.size() > prio_cap_) prio_.pop_front();
}

const SequencedMsg& OwnerRoom::Append(SequencedMsg m, bool visible) {
  seq_ = m.seq;
  if (visible) visible_ = seq_;
  if (m.Prio() && prio_cap_ > 0) prio_.push_back(Copy(m));
  history_.push_back(std::move(m));
  TrimHistory();
  return history_.back();
}

namespace {

// The sender's "name", "badges" and "role" (its highest in the room), each when present.
void AppendSender(std::string* j, const PublishInput& in) {
  if (!in.name.empty()) {
    *j += R"(,"name":)";
    json::AppendString(j, in.name);
  }
  if (!in.badges_json.empty()) {
    *j += R"(,"badges":)";
    *j += in.badges_json;
  }
  if (const auto role = auth::Highest(in.roles)) {
    *j += R"(,"role":)";
    json::AppendString(j, auth::RoleName(*role));
  }
}

}  // namespace

std::string OwnerRoom::RenderMessage(const PublishInput& in, uint64_t seq) const {
  std::string j;
  j.reserve(96 + in.room.size() + in.user.size() + in.text.size() + in.cid.size());
  j += R"({"type":"msg","room":)";
  json::AppendString(&j, in.room);
  j += R"(,"seq":)";
  json::AppendUint(&j, seq);
  j += R"(,"id":)";
  json::AppendString(&j, MessageId(in.cid_taken ? std::string_view{} : in.cid, seq));
  j += R"(,"user":)";
  json::AppendString(&j, in.user);
  AppendSender(&j, in);
  j += R"(,"text":)";
  json::AppendString(&j, in.text);
  j += R"(,"ts":)";
  json::AppendInt(&j, in.ts_ms);
  if (in.prio) j += R"(,"prio":1)";
  if (!in.kind.empty()) {
    j += R"(,"kind":)";
    json::AppendString(&j, in.kind);
  }
  j += '}';
  return j;
}

const SequencedMsg& OwnerRoom::Sequence(const PublishInput& in, bool visible) {
  SequencedMsg m;
  m.seq = seq_ + 1;
  m.sequenced_ms = in.mono_ms;
  m.flags = in.prio ? kEvPrio : 0;
  m.json = RenderMessage(in, m.seq);
  m.user_tag = UserTag(in.user);
  m.ts_ms = in.ts_ms;
  return Append(std::move(m), visible);
}

std::string OwnerRoom::EventJson(std::string_view type, std::string_view fields, uint64_t seq,
                                 int64_t ts_ms) const {
  std::string j;
  j += R"({"type":)";
  json::AppendString(&j, type);
  j += R"(,"room":)";
  json::AppendString(&j, name_);
  j += R"(,"seq":)";
  json::AppendUint(&j, seq);
  j += fields;
  j += R"(,"ts":)";
  json::AppendInt(&j, ts_ms);
  j += '}';
  return j;
}

const SequencedMsg& OwnerRoom::SequenceEvent(std::string_view type, std::string_view fields,
                                             int64_t ts_ms, uint64_t mono_ms, bool visible) {
  SequencedMsg m;
  m.seq = seq_ + 1;
  m.sequenced_ms = mono_ms;
  m.flags = kEvPrio;
  m.json = EventJson(type, fields, m.seq, ts_ms);
  return Append(std::move(m), visible);
}

void OwnerRoom::HideBefore(uint64_t seq) {
  for (SequencedMsg& m : history_) {
    if (m.seq >= seq) break;
    if (m.Lost() || (m.flags & kEvHidden)) continue;
    m.flags |= kEvHidden;
    std::string().swap(m.json);
  }
  while (!prio_.empty() && prio_.front().seq < seq) prio_.pop_front();
}

std::vector<uint64_t> OwnerRoom::MessagesBy(uint64_t user_tag, int64_t since_ms) const {
  std::vector<uint64_t> out;
  for (const SequencedMsg& m : history_) {
    if (m.user_tag == user_tag && m.ts_ms >= since_ms && m.seq <= visible_ &&
        !(m.flags & (kEvHidden | kEvRetract | kEvLost))) {
      out.push_back(m.seq);
    }
  }
  return out;
}

SequencedMsg* OwnerRoom::FindInHistory(uint64_t seq) {
  auto it = LowerBound(history_, seq);
  return it != history_.end() && it->seq == seq ? &*it : nullptr;
}

void OwnerRoom::Hide(uint64_t target) {
  if (SequencedMsg* m = FindInHistory(target)) {
    m->flags |= kEvHidden;
    std::string().swap(m->json);
  }
  auto it = LowerBound(prio_, target);
  if (it != prio_.end() && it->seq == target) prio_.erase(it);
}

OwnerRoom::RetractStatus OwnerRoom::CheckRetract(uint64_t target) const {
  if (target == 0 || target > visible_) return RetractStatus::kNotFound;
  auto h = LowerBound(history_, target);
  const SequencedMsg* kept = h != history_.end() && h->seq == target ? &*h : nullptr;
  if (!kept) {
    auto p = LowerBound(prio_, target);
    if (p == prio_.end() || p->seq != target) {
      // Out of history: its retraction, if any, is still on the priority list.
      const std::string needle = R"(,"seq":)" + std::to_string(target) + R"(,"at":)";
      for (const SequencedMsg& e : prio_) {
        if (e.Retract() && e.json.find(needle) != std::string::npos) {
          return RetractStatus::kAlreadyRetracted;
        }
      }
      return RetractStatus::kGone;
    }
    kept = &*p;
  }
  if (kept->Lost()) return RetractStatus::kGone;
  if (kept->flags & kEvHidden) return RetractStatus::kAlreadyRetracted;
  if (kept->Retract()) return RetractStatus::kNotAMessage;
  return RetractStatus::kOk;
}

std::string OwnerRoom::RetractJson(uint64_t target, uint64_t at, std::string_view reason,
                                   int64_t ts_ms) const {
  std::string j;
  j += R"({"type":"retract","room":)";
  json::AppendString(&j, name_);
  j += R"(,"seq":)";
  json::AppendUint(&j, target);
  j += R"(,"at":)";
  json::AppendUint(&j, at);
  j += R"(,"reason":)";
  json::AppendString(&j, reason);
  j += R"(,"ts":)";
  json::AppendInt(&j, ts_ms);
  j += '}';
  return j;
}

OwnerRoom::RetractStatus OwnerRoom::Retract(uint64_t target, std::string_view reason, int64_t ts_ms,
                                            uint64_t mono_ms, bool visible,
                                            const SequencedMsg** out) {
  const RetractStatus st = CheckRetract(target);
  if (st != RetractStatus::kOk) return st;
  Hide(target);
  SequencedMsg m;
  m.seq = seq_ + 1;
  m.sequenced_ms = mono_ms;
  m.flags = kEvPrio | kEvRetract;
  m.json = RetractJson(target, m.seq, reason, ts_ms);
  *out = &Append(std::move(m), visible);
  return RetractStatus::kOk;
}

void OwnerRoom::MakeVisible(uint64_t seq) { visible_ = std::max(visible_, std::min(seq, seq_)); }

void OwnerRoom::Restore(uint64_t seq, std::string_view json, uint8_t flags, uint64_t target,
                        uint64_t user_tag, int64_t ts_ms) {
  flags &= kEvPrio | kEvRetract;
  SequencedMsg m{seq, std::string(json), 0, flags};
  m.user_tag = user_tag;
  m.ts_ms = ts_ms;
  if (m.Prio() && prio_cap_ > 0) InsertOrdered(prio_, Copy(m));
  InsertOrdered(history_, std::move(m));
  seq_ = std::max(seq_, seq);
  visible_ = seq_;
  if (flags & kEvRetract) Hide(target);
  TrimHistory();
}

const SequencedMsg& OwnerRoom::Adopt(SequencedMsg m, uint64_t target) {
  if (m.Retract() && target != 0) Hide(target);
  return Append(std::move(m), true);
}

void OwnerRoom::ResetEpoch(std::string epoch) {
  epoch_ = std::move(epoch);
  history_.clear();
  prio_.clear();
  seq_ = 0;
  visible_ = 0;
}

void OwnerRoom::MarkLost(uint64_t from, uint64_t to) {
  if (from <= seq_ || to < from) return;
  history_.push_back(LostPlaceholder(name_, from, to));
  seq_ = to;
  visible_ = seq_;
  TrimHistory();
}

bool OwnerRoom::HasHoles() const {
  for (size_t i = 1; i < history_.size(); ++i) {
    if (FirstSeqOf(history_[i]) > history_[i - 1].seq + 1) return true;
  }
  return false;
}

const SequencedMsg* OwnerRoom::Shown(uint64_t seq) const {
  auto it = LowerBound(history_, seq);
  if (it == history_.end() || it->seq != seq || (it->flags & (kEvHidden | kEvLost))) return nullptr;
  return &*it;
}

void OwnerRoom::FillHoles() {
  if (!HasHoles()) return;
  std::deque<SequencedMsg> filled;
  for (SequencedMsg& m : history_) {
    if (!filled.empty() && FirstSeqOf(m) > filled.back().seq + 1) {
      filled.push_back(LostPlaceholder(name_, filled.back().seq + 1, FirstSeqOf(m) - 1));
    }
    filled.push_back(std::move(m));
  }
  history_.swap(filled);
  TrimHistory();
}

std::vector<SequencedMsg> OwnerRoom::Recent(size_t n) const {
  std::vector<SequencedMsg> prio, plain;
  uint64_t window_first = visible_ + 1;
  if (history_cap_ != 0) {
    for (auto it = history_.rbegin(); it != history_.rend() && plain.size() + prio.size() < n;
         ++it) {
      if (it->seq > visible_ || (it->flags & (kEvHidden | kEvLost))) continue;
      (it->Prio() ? prio : plain).push_back(Copy(*it));
      window_first = it->seq;
    }
  }
  std::reverse(prio.begin(), prio.end());
  std::reverse(plain.begin(), plain.end());
  // Priority events older than the window (newest first, at most n), then the window's.
  std::vector<SequencedMsg> out;
  auto end = LowerBound(prio_, window_first);
  size_t older = static_cast<size_t>(end - prio_.begin());
  if (older > n) older = n;
  out.reserve(older + prio.size() + plain.size());
  for (auto it = end - static_cast<std::ptrdiff_t>(older); it != end; ++it)
    out.push_back(Copy(*it));
  for (auto& m : prio) out.push_back(std::move(m));
  for (auto& m : plain) out.push_back(std::move(m));
  return out;
}

OwnerRoom::SinceResult OwnerRoom::Since(uint64_t since, size_t max, Cap cap,
                                        uint64_t prio_sent_upto) const {
  SinceResult r;
  if (since > visible_) since = 0;  // from an earlier epoch: start this one from its beginning
  r.last = since;
  if (since == visible_) return r;
  const bool paged = cap == Cap::kPaged && max > 0;
  if (cap == Cap::kPaged) cap = paged ? Cap::kOldest : Cap::kNewest;
  const uint64_t oldest =
      history_cap_ == 0 || history_.empty() ? visible_ + 1 : FirstSeqOf(history_.front());
  uint64_t first = std::max(since + 1, oldest);  // first seq we can return
  const uint64_t available = first > visible_ ? 0 : visible_ + 1 - first;
  if (available > max && cap == Cap::kNewest) first = visible_ + 1 - max;
  if (first > since + 1) {
    r.gap_from = since + 1;
    r.gap_to = first - 1;
    r.last = r.gap_to;
  }
  // Priority events inside the gap are kept longer than ordinary history: they come first.
  for (auto it = LowerBound(prio_, std::max(since, prio_sent_upto) + 1);
       it != prio_.end() && it->seq < first; ++it) {
    r.msgs.push_back(Copy(*it));
  }
  if (first > visible_ || max == 0 || history_cap_ == 0) return r;
  const uint64_t end = std::min<uint64_t>(visible_, first + max - 1);  // last seq returned
  std::vector<SequencedMsg> plain;
  for (auto it = LowerBound(history_, first); it != history_.end() && it->seq <= end; ++it) {
    if (it->flags & kEvHidden) continue;
    if (it->Prio() && it->seq <= prio_sent_upto) continue;
    if (it->Lost() && it->lost_from < first) {  // name only the seqs after what the caller has
      plain.push_back(LostPlaceholder(name_, first, it->seq));
      continue;
    }
    (it->Prio() ? r.msgs : plain).push_back(Copy(*it));
  }
  if (paged) {  // the priority events after this page, up to the head, come with it
    for (auto it = LowerBound(history_, std::max(end, prio_sent_upto) + 1);
         it != history_.end() && it->seq <= visible_; ++it) {
      if (it->Prio() && !(it->flags & kEvHidden)) r.msgs.push_back(Copy(*it));
    }
  }
  r.msgs.reserve(r.msgs.size() + plain.size());
  for (auto& m : plain) r.msgs.push_back(std::move(m));
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

OwnerRooms::OwnerRooms(int shards, size_t history_cap, size_t max_rooms, size_t prio_cap)
    : shards_(shards), history_cap_(history_cap), max_rooms_(max_rooms), prio_cap_(prio_cap) {
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
  // A new room starts a new epoch: a room with no history left (a restart without a durable
  // log, or one whose log was lost) cannot continue the old seqs, and clients resuming with
  // the old epoch can tell. Within one process the epoch is a function of the name (the salt is
  // new at every start): an empty room reclaimed and made again keeps its epoch.
  uint64_t x = epoch_salt_;
  for (unsigned char ch : name) x = (x ^ ch) * 0x100000001B3ull;
  x *= 0x9E3779B97F4A7C15ull;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(x));
  return GetOrCreateWithEpoch(name, std::string_view(buf, 8));
}

OwnerRoom* OwnerRooms::GetOrCreateWithEpoch(std::string_view name, std::string_view epoch) {
  auto it = rooms_.find(std::string(name));
  if (it != rooms_.end()) return it->second.get();
  auto room = std::make_unique<OwnerRoom>(std::string(name), std::string(epoch), history_cap_,
                                          shards_, prio_cap_);
  OwnerRoom* p = room.get();
  rooms_.emplace(std::string(name), std::move(room));
  return p;
}

void OwnerRooms::Drop(std::string_view name) { rooms_.erase(std::string(name)); }

}  // namespace roomcast::room
