// The owner side of rooms: the one place where a room's messages are ordered.
//
// Each room has exactly one owner shard (OwnerShardOf). There the room's seq is assigned, its
// recent history kept and its viewers counted per shard, so that a sequenced message is forwarded
// only to the shards that have viewers. No locks: only the owner shard's thread touches its
// OwnerRooms. Knows nothing of sockets or frames: messages are JSON text.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roomcast::room {

// The shard that owns a room (FNV-1a of the id, modulo the shard count).
[[nodiscard]] int OwnerShardOf(std::string_view room, int shards);

// A sequenced message as it travels to viewers: its seq and its JSON object text.
struct SequencedMsg {
  uint64_t seq = 0;
  std::string json;
  uint64_t sequenced_ms = 0;  // CLOCK_MONOTONIC ms when the owner sequenced it (for lag metrics)
};

struct PublishInput {
  std::string_view room;
  std::string_view user;
  std::string_view text;
  std::string_view cid;  // may be empty: the owner makes an id
  int64_t ts_ms = 0;     // server receive time (Unix ms)
  uint64_t mono_ms = 0;  // the owner's CLOCK_MONOTONIC ms now
};

class OwnerRoom {
 public:
  OwnerRoom(std::string name, std::string epoch, size_t history_cap, int shards);

  const std::string& Name() const { return name_; }
  const std::string& Epoch() const { return epoch_; }
  uint64_t HeadSeq() const { return seq_; }
  uint64_t Online() const { return online_; }

  // The message id: the client's cid when given, else one made from the epoch and seq.
  [[nodiscard]] std::string MessageId(std::string_view cid, uint64_t seq) const;

  // Assigns the next seq and builds the message JSON once; appends it to history.
  const SequencedMsg& Sequence(const PublishInput& in);

  // The last n messages (n is capped at the history kept), oldest first.
  [[nodiscard]] std::vector<std::string> Recent(size_t n) const;

  // The messages after `since` (resume), oldest first. A `since` above the head comes from an
  // earlier epoch and counts as 0. At most `max` messages are returned: kOldest returns the first
  // ones (a poller then resumes from `last`), kNewest the last ones (live messages follow them).
  // gap_from..gap_to names the seqs after `since` that are neither returned nor still to come.
  enum class Cap { kOldest, kNewest };
  struct SinceResult {
    uint64_t gap_from = 0, gap_to = 0;  // gap_to == 0: no gap
    std::vector<std::string> msgs;
    uint64_t last = 0;  // the last seq returned or covered by the gap; `since` when nothing
  };
  [[nodiscard]] SinceResult Since(uint64_t since, size_t max, Cap cap) const;

  // Viewer accounting per shard; returns the shard's new count.
  uint32_t AddViewers(int shard, uint32_t n);
  uint32_t RemoveViewers(int shard, uint32_t n);
  // Shards that have viewers now.
  [[nodiscard]] const std::vector<uint32_t>& PerShard() const { return per_shard_; }

 private:
  std::string name_;
  std::string epoch_;
  uint64_t seq_ = 0;
  uint64_t online_ = 0;
  size_t history_cap_;
  std::deque<SequencedMsg> history_;
  std::vector<uint32_t> per_shard_;
};

class OwnerRooms {
 public:
  OwnerRooms(int shards, size_t history_cap, size_t max_rooms);
  // The room, created on first use; nullptr when max_rooms would be exceeded.
  OwnerRoom* GetOrCreate(std::string_view name);
  OwnerRoom* Find(std::string_view name);
  size_t Count() const { return rooms_.size(); }

 private:
  int shards_;
  size_t history_cap_;
  size_t max_rooms_;
  uint64_t epoch_salt_;
  std::unordered_map<std::string, std::unique_ptr<OwnerRoom>> rooms_;
};

}  // namespace roomcast::room
