// The live side of --redis: a node subscribes to a room's channel only while it has viewers of
// the room (Want / Drop count them), on one pub/sub link per Redis instance, batched: Flush sends
// one SUBSCRIBE and one UNSUBSCRIBE per instance with every channel that changed since the last
// Flush. After a reconnect every wanted channel is subscribed again and on_resubscribed names the
// instance, so its rooms can be repaired from their streams (what was published meanwhile).
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/redis_link.h"
#include "cluster/sequencer.h"

namespace roomcast::cluster {

class Subscriber {
 public:
  // links: pub/sub links (LinkOptions::pubsub), one per instance, in --redis order.
  explicit Subscriber(std::vector<RedisLink*> links);
  void Attach();
  void Want(std::string_view room);
  void Drop(std::string_view room);
  void Flush();
  [[nodiscard]] size_t Rooms() const { return wanted_.size(); }

  std::function<void(std::string_view room, const StoredEvent& ev)> on_event;
  std::function<void(size_t instance)> on_resubscribed;
  // Redis confirmed a subscription of a wanted room: from now on its messages come here (what
  // came before is in the room's stream).
  std::function<void(std::string_view room)> on_subscribed;
  [[nodiscard]] bool Ready(std::string_view room) const;
  uint64_t malformed = 0;  // channel messages that did not parse (counted, dropped)

 private:
  void Resubscribe(size_t instance);
  void OnPush(const Reply& r);

  std::vector<RedisLink*> links_;
  std::unordered_map<std::string, uint32_t> wanted_;  // room -> viewers' count
  std::vector<std::vector<std::string>> to_sub_;      // per instance, channels
  std::vector<std::vector<std::string>> to_unsub_;
  std::vector<bool> connected_before_;
};

}  // namespace roomcast::cluster
