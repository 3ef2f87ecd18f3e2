// Online and distinct-viewer counts across the fleet (docs/cluster.md, "Counts across nodes").
// One Lua script call per room per report (about once a second per room this node has viewers
// of, pipelined on the room's command link), atomic in Redis:
//   - this node's online count goes into the hash rc:{R}:o, field = the node's id, value
//     "<count>:<expiry, Redis ms>" (an expiry --redis-count-ttl-ms ahead: a node that stops
//     reporting, killed or cut off, drops out of the sum within it); a count of 0 deletes the
//     field;
//   - the sum of the other nodes' fresh fields is read back (stale ones are deleted);
//   - the viewers that joined here since the last report are PFADDed to the room's minute key
//     rc:{R}:u:<minute> (TTL 6 min) and to the epoch's total key rc:{R}:t:<epoch>;
//   - PFCOUNT of the last five minute keys (their union: unique_5m) and of the total key.
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_link.h"

namespace roomcast::cluster {

struct FleetCount {
  uint64_t others_online = 0;  // the other nodes' viewers of the room
  uint64_t unique_5m = 0;      // distinct viewers over the fleet, last five whole minutes
  uint64_t unique_total = 0;   // ...since the epoch began
};

class FleetCounts {
 public:
  using Callback = std::function<void(bool ok, const FleetCount&)>;
  // At most this many viewers are added per call (the rest wait for the next report).
  static constexpr size_t kMaxViewersPerCall = 1000;

  // links: the command links, one per instance in --redis order; node: this node's field.
  FleetCounts(std::vector<RedisLink*> links, std::string node, uint32_t ttl_ms);
  // Loads the script on every (re)connect of every link (chains on_ready).
  void Attach();
  // Writes `online` for this node (0: deletes its field), adds `viewers` (hashes), reads the sums.
  void Report(std::string_view room, std::string_view epoch, uint64_t online,
              std::span<const uint64_t> viewers, uint64_t deadline_ms, Callback cb);
  // At drain: deletes this node's field of the room (no answer awaited by the caller).
  void Leave(std::string_view room, uint64_t deadline_ms);
  [[nodiscard]] const std::string& Node() const { return node_; }

 private:
  std::vector<RedisLink*> links_;
  std::string node_;
  uint32_t ttl_ms_;
};

}  // namespace roomcast::cluster
