// What long-poll pacing knows about each polled room on one shard, kept by room name, not with
// the replica: in a paced room most polls are answered at once and never park, so the replica
// comes and goes while this must persist (dropped after a minute without polls). Inputs of
// longpoll::BaseTimeoutMs: the room's message rate (from the growth of its head seq) and its
// pollers (parked now, plus answered ones still waiting out their advised wait). Shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/config.h"
#include "base/shard_metrics.h"
#include "longpoll/poll_pacing.h"

namespace roomcast::session {

struct PollRoomState {
  explicit PollRoomState(uint32_t horizon_ms) : away(horizon_ms) {}
  longpoll::HeadRate msgs;        // the room's message rate, from the growth of its head seq
  longpoll::WaitingPollers away;  // answered polls still waiting out their timeoutMs
  longpoll::RateMeter reqs;       // long-poll requests for the room on this shard (/metrics)
  uint64_t last_req_ms = 0;
  uint32_t timeout_ms = 0;  // the last base timeoutMs advised (for /metrics)
  uint32_t parked = 0;      // polls parked now
};

// Jitter variants per room batch: pollers answered by one batch are spread over this many waits.
inline constexpr uint32_t kJitterSlots = 4;
inline constexpr uint32_t kJitterPct = 20;

class PollRooms {
 public:
  PollRooms(const Config& cfg, int shard, int shards) : cfg_(cfg), shard_(shard), shards_(shards) {}

  [[nodiscard]] bool Empty() const { return rooms_.empty(); }
  // A poll for the room arrived (its state is made, unless --max-rooms rooms are tracked).
  void NoteRequest(std::string_view room, uint64_t now_ms);
  // The room's head seq as a forward or a poll answer reported it.
  void NoteHead(const std::string& room, uint64_t head, uint64_t now_ms);
  // The base timeoutMs for the room now (updates its state); flush_ms: the replica's current
  // flush interval. Jitter by connection goes on top.
  uint32_t BaseTimeoutMs(const std::string& room, uint32_t flush_ms, uint64_t now_ms);
  void NoteAnswered(const std::string& room, uint32_t timeout_ms, uint32_t n, uint64_t now_ms);
  // n polls of the room were parked (n > 0) or left the parked list (n < 0).
  void NoteParked(const std::string& room, int32_t n);
  // Drops the state of rooms nobody polled for a minute.
  void Sweep(uint64_t now_ms);
  // Rebuilds this shard's /metrics lines for its hottest long-poll rooms (once a second).
  void PublishHot(uint64_t now_ms, ShardMetrics* metrics);

 private:
  static constexpr size_t kHotPollRooms = 10;
  const Config& cfg_;
  int shard_;
  int shards_;
  std::unordered_map<std::string, PollRoomState> rooms_;
};

}  // namespace roomcast::session
