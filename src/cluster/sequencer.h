// A room's order kept in Redis: one Lua script per published message (one EVALSHA, pipelined
// behind the others on the room's instance) that
//   - refuses the message when it reaches Redis after its deadline (ARGV deadline against Redis
//     TIME), so a send the node already answered "unavailable" is never sequenced behind its back;
//   - with a cid, answers the seq it already got when the cid was seen within --dedup-secs;
//   - HINCRBY the room's seq in a hash that also holds the epoch (a new epoch, and an empty
//     stream, when the hash is gone);
//   - XADD the event with the seq as entry id, MAXLEN ~ history;
//   - PUBLISH "<seq>:<epoch>:<payload>" on the room's channel.
// Rooms are spread over the instances by jump consistent hash (room_shards.h). Reads of the
// stream (catch-up, history) are XRANGE. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_link.h"

namespace roomcast::cluster {

struct SequencerOptions {
  uint32_t history = 1000;    // stream length per room (MAXLEN ~)
  uint32_t dedup_secs = 120;  // how long a cid is remembered
  // A publish not answered by then is refused; Redis refuses to number it from 3/4 of it on.
  uint32_t deadline_ms = 1000;
};

struct PublishResult {
  enum Status { kSequenced, kDuplicate, kLate, kUnavailable, kError };
  Status status = kError;
  uint64_t seq = 0;
  std::string epoch;
  std::string error;  // kUnavailable, kError: why
};

struct StoredEvent {
  uint64_t seq = 0;
  std::string epoch;
  std::string payload;
};

// The keys and channel of a room; the braces keep them in one Redis Cluster slot too.
std::string RoomMetaKey(std::string_view room);
std::string RoomStreamKey(std::string_view room);
std::string RoomChannel(std::string_view room);
// "<seq>:<epoch>:<payload>" as published; false when malformed.
bool ParseChannelMessage(std::string_view msg, StoredEvent* out);

class Sequencer {
 public:
  using PublishCallback = std::function<void(const PublishResult&)>;
  using ReadCallback = std::function<void(bool ok, std::vector<StoredEvent> events)>;

  // links: one per instance, in --redis order (the order decides which rooms each holds).
  Sequencer(std::vector<RedisLink*> links, SequencerOptions opts);
  // Loads the script on every (re)connect of every link (chains on_ready).
  void Attach();
  void Publish(std::string_view room, std::string_view cid, std::string_view payload,
               PublishCallback cb);
  // Events with seq > after_seq, oldest first, at most max (<= 1000).
  void Read(std::string_view room, uint64_t after_seq, uint32_t max, ReadCallback cb);
  [[nodiscard]] RedisLink* LinkOf(std::string_view room) const;
  [[nodiscard]] static const std::string& ScriptSha();

 private:
  std::vector<RedisLink*> links_;
  SequencerOptions opts_;
  uint64_t epoch_counter_ = 0;
};

}  // namespace roomcast::cluster
