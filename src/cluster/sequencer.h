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
#include <utility>
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
  // kRefused: the moderation gate refused the send (error: banned, rate_limited, slow_mode), or
  // an act was refused (the rules hash is full). kShadow: the sender is shadow-banned. An act:
  // kShadow is "no such field" (an unban of someone not banned).
  enum Status { kSequenced, kDuplicate, kLate, kUnavailable, kError, kRefused, kShadow };
  Status status = kError;
  uint64_t seq = 0;
  std::string epoch;
  std::string error;      // kUnavailable, kError: why; kRefused: the refusal's code
  uint64_t retry_ms = 0;  // kRefused
};

struct StoredEvent {
  uint64_t seq = 0;
  std::string epoch;
  std::string payload;
};

// The moderation gate of a user's send, checked by the publish script (docs/cluster.md,
// "Moderation"): the ban in the room's rules hash, the rate window, slow mode. No ban_field: none.
struct Gate {
  std::string ban_field;  // "b:<user>"
  std::string user_key;   // the user's tag (hex): names its rate and slow-mode keys
  uint32_t rate_n = 0;    // at most rate_n sends in rate_ms (0: no limit)
  uint64_t rate_ms = 0;
  bool slow = false;  // the room's slow mode applies to this user
};

// One change of a room's rules hash (rc:{R}:r): set field to value, or remove it.
struct RuleChange {
  std::string field;  // "b:<user>" a ban, "m" the modes, "t" the blocked terms
  std::string value;
  bool remove = false;
  uint32_t max_fields = 10003;  // a set of a new field past this many is refused
};

// The keys and channel of a room; the braces keep them in one Redis Cluster slot too.
std::string RoomRulesKey(std::string_view room);
std::string RoomMetaKey(std::string_view room);
std::string RoomStreamKey(std::string_view room);
std::string RoomChannel(std::string_view room);
// "<seq>:<epoch>:<payload>" as published; false when malformed.
bool ParseChannelMessage(std::string_view msg, StoredEvent* out);

class Sequencer {
 public:
  using PublishCallback = std::function<void(const PublishResult&)>;
  using ReadCallback = std::function<void(bool ok, std::vector<StoredEvent> events)>;
  using RulesCallback =
      std::function<void(bool ok, std::vector<std::pair<std::string, std::string>> fields)>;

  // links: one per instance, in --redis order (the order decides which rooms each holds).
  Sequencer(std::vector<RedisLink*> links, SequencerOptions opts);
  // Loads the script on every (re)connect of every link (chains on_ready).
  void Attach();
  void Publish(std::string_view room, std::string_view cid, std::string_view payload,
               const Gate& gate, PublishCallback cb);
  // Without the moderation gate (a moderation event, an admin's send).
  void Publish(std::string_view room, std::string_view cid, std::string_view payload,
               PublishCallback cb) {
    Publish(room, cid, payload, Gate{}, std::move(cb));
  }
  // A moderation act: the rules change (published on the room's channel with seq 0) and, when
  // `event` is not empty, the event it numbers (a `state`), in one script.
  void Act(std::string_view room, const RuleChange& change, std::string_view event,
           PublishCallback cb);
  // HGETALL of the room's rules hash.
  void ReadRules(std::string_view room, uint64_t deadline_ms, RulesCallback cb);
  // Events with seq > after_seq, oldest first, at most max (<= 1000).
  void Read(std::string_view room, uint64_t after_seq, uint32_t max, ReadCallback cb);
  [[nodiscard]] RedisLink* LinkOf(std::string_view room) const;
  [[nodiscard]] static const std::string& ScriptSha();
  [[nodiscard]] static const std::string& ActScriptSha();
  // A new random epoch (16 hex digits) for a room Redis does not know yet.
  std::string NewEpoch();

 private:
  [[nodiscard]] std::string Deadline() const;

  std::vector<RedisLink*> links_;
  SequencerOptions opts_;
  uint64_t epoch_counter_ = 0;
};

}  // namespace roomcast::cluster
