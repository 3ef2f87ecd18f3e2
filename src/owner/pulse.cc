#include "owner/pulse.h"

#include <algorithm>
#include <utility>

namespace roomcast::owner {

namespace {
// A room's full buckets (reactors idle long enough) are dropped about this often.
constexpr uint64_t kSweepMs = 1000;
}  // namespace

Pulse::RoomPulse& Pulse::Active(std::string_view room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) it = rooms_.emplace(std::string(room), RoomPulse{}).first;
  if (!it->second.listed) {
    it->second.listed = true;
    active_.push_back(it->first);
  }
  return it->second;
}

Pulse::ReactResult Pulse::Take(RoomPulse& p, std::string_view reactor, uint64_t now_ms) {
  const room::RateSpec r = opt_.react_rate;
  if (r.count == 0) return {};
  const double per_ms = static_cast<double>(r.count) / (static_cast<double>(r.secs) * 1000.0);
  auto it = p.buckets.find(reactor);
  if (it == p.buckets.end()) {
    if (p.buckets.size() >= kMaxReactorsPerRoom) {
      return {chat::Refusal::kRateLimited, static_cast<uint64_t>(r.secs) * 1000};
    }
    it =
        p.buckets.emplace(std::string(reactor), Bucket{static_cast<double>(r.count), now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.at_ms) {
    b.tokens = std::min<double>(r.count, b.tokens + static_cast<double>(now_ms - b.at_ms) * per_ms);
    b.at_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const auto wait = static_cast<uint64_t>((1.0 - b.tokens) / per_ms) + 1;
  return {chat::Refusal::kRateLimited, wait};
}

Pulse::ReactResult Pulse::React(std::string_view room, std::string_view reactor,
                                std::string_view emote, uint64_t now_ms) {
  RoomPulse& p = Active(room);
  const ReactResult res = Take(p, reactor, now_ms);
  if (res.refusal != chat::Refusal::kNone) return res;
  if (!p.window.Add(emote)) ++dropped_kinds_;
  if (p.window_end_ms == 0) {
    p.window_end_ms = now_ms + opt_.reaction_window_ms;
    Wake(p.window_end_ms);
  }
  if (p.sweep_ms == 0) p.sweep_ms = now_ms + kSweepMs;
  Wake(p.sweep_ms);
  return res;
}

void Pulse::NoteOnline(std::string_view room, uint64_t now_ms, uint64_t online,
                       uint64_t welcome_online) {
  if (opt_.state_interval_ms == 0) return;
  RoomPulse& p = Active(room);
  if (online == 0) {  // nobody left to believe anything
    p.believed_min = UINT64_MAX;
    p.believed_max = 0;
  } else if (welcome_online != 0) {
    p.believed_min = std::min(p.believed_min, welcome_online);
    p.believed_max = std::max(p.believed_max, welcome_online);
  }
  if (p.state_due_ms != 0) return;  // one is coming
  p.state_due_ms = std::max(now_ms, p.last_state_ms + opt_.state_interval_ms);
  Wake(p.state_due_ms);
}

bool Pulse::Announce(std::string_view room, uint64_t online, uint64_t now_ms) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  RoomPulse& p = it->second;
  const bool nobody = p.believed_min > p.believed_max;
  if (nobody || (p.believed_min == online && p.believed_max == online)) return false;
  p.believed_min = p.believed_max = online;
  p.last_state_ms = now_ms;
  return true;
}

std::string_view Pulse::LastCounts(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? std::string_view("{}") : std::string_view(it->second.last_counts);
}

void Pulse::SweepBuckets(RoomPulse& p, uint64_t now_ms) {
  const room::RateSpec r = opt_.react_rate;
  const uint64_t full_after = static_cast<uint64_t>(r.secs) * 1000;
  std::erase_if(p.buckets, [&](const auto& kv) {
    return r.count == 0 || now_ms >= kv.second.at_ms + full_after;
  });
  p.sweep_ms = p.buckets.empty() ? 0 : now_ms + kSweepMs;
}

std::vector<Pulse::DueEvent> Pulse::Due(uint64_t now_ms) {
  std::vector<DueEvent> out;
  if (now_ms < next_due_ms_) return out;
  next_due_ms_ = UINT64_MAX;
  std::vector<std::string> visit;
  visit.swap(active_);
  for (std::string& name : visit) {
    auto it = rooms_.find(name);
    if (it == rooms_.end()) continue;
    RoomPulse& p = it->second;
    if (p.window_end_ms != 0 && now_ms >= p.window_end_ms) {
      if (p.window.Empty()) {  // a whole window without reactions: the room is quiet again
        p.last_counts = "{}";
        p.window_end_ms = 0;
      } else {
        p.last_counts = p.window.TakeCounts();
        out.push_back(
            {name, room::ReactionWindow::EventJson(name, opt_.reaction_window_ms, p.last_counts)});
        // Kept open one more window, to learn whether the room went quiet.
        p.window_end_ms = now_ms + opt_.reaction_window_ms;
      }
    }
    if (p.state_due_ms != 0 && now_ms >= p.state_due_ms) {
      out.push_back({name, {}});
      p.state_due_ms = 0;
    }
    if (p.sweep_ms != 0 && now_ms >= p.sweep_ms) SweepBuckets(p, now_ms);
    if (p.Pending()) {
      for (uint64_t at : {p.window_end_ms, p.state_due_ms, p.sweep_ms}) {
        if (at != 0) Wake(at);
      }
      active_.push_back(std::move(name));
    } else if (p.believed_min > p.believed_max) {
      rooms_.erase(it);  // nothing pending, nobody believing a count
    } else {
      p.listed = false;
    }
  }
  return out;
}

}  // namespace roomcast::owner
