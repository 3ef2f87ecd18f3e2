#include "cluster/subscriber.h"

#include "cluster/room_shards.h"

namespace roomcast::cluster {

namespace {

void SendBatch(RedisLink* link, std::string_view verb, std::vector<std::string>* channels) {
  if (channels->empty()) return;
  std::vector<std::string_view> argv;
  argv.reserve(channels->size() + 1);
  argv.push_back(verb);
  for (const std::string& c : *channels) argv.push_back(c);
  link->Command(argv, 0, nullptr);
  channels->clear();
}

// "rc:{room}:c" -> room; empty when it is not a room channel.
std::string_view RoomOfChannel(std::string_view channel) {
  if (!channel.starts_with("rc:{") || !channel.ends_with("}:c") || channel.size() < 7) return {};
  return channel.substr(4, channel.size() - 7);
}

}  // namespace

Subscriber::Subscriber(std::vector<RedisLink*> links)
    : links_(std::move(links)),
      to_sub_(links_.size()),
      to_unsub_(links_.size()),
      connected_before_(links_.size(), false) {}

void Subscriber::Attach() {
  for (size_t i = 0; i < links_.size(); ++i) {
    links_[i]->on_ready = [this, i] { Resubscribe(i); };
    links_[i]->on_push = [this](const Reply& r) { OnPush(r); };
  }
}

void Subscriber::Want(std::string_view room) {
  auto [it, fresh] = wanted_.try_emplace(std::string(room), 0);
  if (it->second++ == 0) {
    to_sub_[InstanceOf(room, static_cast<uint32_t>(links_.size()))].push_back(RoomChannel(room));
  }
  (void)fresh;
}

void Subscriber::Drop(std::string_view room) {
  auto it = wanted_.find(std::string(room));
  if (it == wanted_.end()) return;
  if (--it->second == 0) {
    wanted_.erase(it);
    const size_t i = InstanceOf(room, static_cast<uint32_t>(links_.size()));
    std::string channel = RoomChannel(room);
    // Wanted and dropped before a Flush: it was never subscribed.
    if (std::erase(to_sub_[i], channel) == 0) to_unsub_[i].push_back(std::move(channel));
  }
}

bool Subscriber::Ready(std::string_view room) const {
  return links_[InstanceOf(room, static_cast<uint32_t>(links_.size()))]->Ready();
}

void Subscriber::Flush() {
  for (size_t i = 0; i < links_.size(); ++i) {
    if (!links_[i]->Ready()) {
      // Down: the reconnect subscribes every wanted room anyway.
      to_sub_[i].clear();
      to_unsub_[i].clear();
      continue;
    }
    // Unsubscribes first: a room dropped and wanted again in one turn ends subscribed (and its
    // subscription is confirmed again, which on_subscribed reports).
    SendBatch(links_[i], "UNSUBSCRIBE", &to_unsub_[i]);
    SendBatch(links_[i], "SUBSCRIBE", &to_sub_[i]);
  }
}

void Subscriber::Resubscribe(size_t instance) {
  to_sub_[instance].clear();
  to_unsub_[instance].clear();
  for (const auto& [room, count] : wanted_) {
    if (InstanceOf(room, static_cast<uint32_t>(links_.size())) == instance) {
      to_sub_[instance].push_back(RoomChannel(room));
    }
  }
  SendBatch(links_[instance], "SUBSCRIBE", &to_sub_[instance]);
  if (connected_before_[instance] && on_resubscribed) on_resubscribed(instance);
  connected_before_[instance] = true;
}

void Subscriber::OnPush(const Reply& r) {
  if (r.kind != Reply::kArray || r.elements.size() != 3) return;
  if (r.elements[0].str == "subscribe") {
    const std::string_view room = RoomOfChannel(r.elements[1].str);
    if (!room.empty() && wanted_.contains(std::string(room)) && on_subscribed) {
      on_subscribed(room);
    }
    return;
  }
  if (r.elements[0].str != "message") return;  // unsubscribe confirmations
  const std::string_view room = RoomOfChannel(r.elements[1].str);
  StoredEvent ev;
  if (room.empty() || !ParseChannelMessage(r.elements[2].str, &ev)) {
    ++malformed;
    return;
  }
  if (wanted_.contains(std::string(room)) && on_event) on_event(room, ev);
}

}  // namespace roomcast::cluster
