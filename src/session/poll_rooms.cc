// Long-poll pacing state per room (poll_rooms.h). Shard thread only.
#include "poll_rooms.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

namespace roomcast::session {

namespace {
// A room's pacing state is dropped after this long without a poll.
constexpr uint64_t kPollRoomIdleMs = 60000;
}  // namespace

void PollRooms::NoteRequest(std::string_view room, uint64_t now_ms) {
  std::string key(room);
  auto it = rooms_.find(key);
  if (it == rooms_.end() && rooms_.size() < cfg_.max_rooms) {
    // Long enough to see every advised wait, jitter included, end.
    const uint32_t horizon = cfg_.poll_max_timeout_ms / 100 * (100 + kJitterPct) + 1000;
    it = rooms_.emplace(std::move(key), PollRoomState(horizon)).first;
  }
  if (it != rooms_.end()) {  // else: more polled rooms than --max-rooms; not paced
    it->second.last_req_ms = now_ms;
    it->second.reqs.Add(1, now_ms);
  }
}

void PollRooms::NoteHead(const std::string& room, uint64_t head, uint64_t now_ms) {
  auto it = rooms_.find(room);
  if (it != rooms_.end()) it->second.msgs.Observe(head, now_ms);
}

uint32_t PollRooms::BaseTimeoutMs(const std::string& room, uint32_t flush_ms, uint64_t now_ms) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return 0;
  PollRoomState& st = it->second;
  longpoll::PollPacing pacing;
  pacing.budget_per_sec =
      cfg_.poll_budget == 0
          ? 0
          : std::max<uint32_t>(1, cfg_.poll_budget / static_cast<uint32_t>(shards_));
  pacing.hold_ms = cfg_.poll_hold_ms;
  pacing.max_timeout_ms = cfg_.poll_max_timeout_ms;
  pacing.jitter_pct = kJitterPct;
  longpoll::RoomLoad load;
  load.msgs_per_sec = st.msgs.PerSec(now_ms);
  load.flush_interval_ms = flush_ms;
  load.history_msgs = cfg_.history;
  // The room's pollers here: parked now, or answered and waiting out their timeoutMs.
  load.pollers = st.parked + st.away.Away(now_ms);
  st.timeout_ms = longpoll::BaseTimeoutMs(pacing, load);
  return st.timeout_ms;
}

void PollRooms::NoteAnswered(const std::string& room, uint32_t timeout_ms, uint32_t n,
                             uint64_t now_ms) {
  auto it = rooms_.find(room);
  if (it != rooms_.end()) it->second.away.Answered(now_ms, timeout_ms, n);
}

void PollRooms::NoteParked(const std::string& room, int32_t n) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  uint32_t& parked = it->second.parked;
  if (n >= 0) {
    parked += static_cast<uint32_t>(n);
  } else {
    parked -= std::min(parked, static_cast<uint32_t>(-n));
  }
}

void PollRooms::Sweep(uint64_t now_ms) {
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    if (it->second.parked == 0 && now_ms - it->second.last_req_ms > kPollRoomIdleMs) {
      it = rooms_.erase(it);
    } else {
      ++it;
    }
  }
}

void PollRooms::PublishHot(uint64_t now_ms, ShardMetrics* metrics) {
  // No long-poll rooms and none published: nothing to swap (most servers, most seconds).
  if (rooms_.empty() && !metrics->hot_poll_rooms.load()) return;
  std::vector<std::pair<uint64_t, const std::string*>> rooms;
  for (auto& [name, st] : rooms_) {
    // Rank by requests per second, the load a room puts on this shard.
    rooms.emplace_back(static_cast<uint64_t>(st.reqs.PerSec(now_ms) * 1000) + st.parked, &name);
  }
  const size_t n = std::min(rooms.size(), kHotPollRooms);
  std::partial_sort(rooms.begin(), rooms.begin() + static_cast<std::ptrdiff_t>(n), rooms.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  ShardMetrics::HotPollRooms hot;
  char line[256];
  for (size_t k = 0; k < n; ++k) {
    const std::string& name = *rooms[k].second;
    const PollRoomState& st = rooms_.find(name)->second;
    std::snprintf(line, sizeof(line),
                  "roomcast_longpoll_room_parked{shard=\"%d\",room=\"%s\"} %u\n", shard_,
                  name.c_str(), st.parked);
    hot.parked += line;
    std::snprintf(line, sizeof(line),
                  "roomcast_longpoll_room_timeout_seconds{shard=\"%d\",room=\"%s\"} %g\n", shard_,
                  name.c_str(), st.timeout_ms / 1e3);
    hot.timeout += line;
  }
  metrics->hot_poll_rooms.store(
      n == 0 ? nullptr : std::make_shared<const ShardMetrics::HotPollRooms>(std::move(hot)));
}

}  // namespace roomcast::session
