// The roomcast_room_* families of GET /metrics (room_metrics.h).
#include "service/room_metrics.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

namespace roomcast::server {

namespace {

struct Family {
  const char* name;
  const char* help;
  double (*value)(const TopRoom&);
};

constexpr Family kFamilies[] = {
    {"roomcast_room_online", "Viewers in the room, all shards (the busiest rooms only)",
     [](const TopRoom& t) { return static_cast<double>(t.online); }},
    {"roomcast_room_unique_5m",
     "Distinct viewers of the room in the last 5 minutes (HyperLogLog; the busiest rooms only)",
     [](const TopRoom& t) { return static_cast<double>(t.unique_5m); }},
    {"roomcast_room_unique_epoch",
     "Distinct viewers of the room since its epoch began (HyperLogLog; the busiest rooms only)",
     [](const TopRoom& t) { return static_cast<double>(t.unique_total); }},
    {"roomcast_room_messages_per_second",
     "Messages sequenced in the room per second, mean of the last 5 s (the busiest rooms only)",
     [](const TopRoom& t) { return t.msgs_per_s; }},
    {"roomcast_room_fanout_lag_p99_seconds",
     "p99 from sequencing to the batch queued on a viewer shard, worst shard (the busiest rooms "
     "only)",
     [](const TopRoom& t) { return t.lag_ms_p99 / 1e3; }},
};

constexpr const char* kTransportNames[] = {"ws", "sse", "longpoll"};

}  // namespace

void AppendTopRooms(std::string* out, const ShardMetrics* metrics, int shards, size_t top) {
  std::vector<std::shared_ptr<const std::vector<TopRoom>>> lists;
  std::vector<const TopRoom*> rooms;
  for (int i = 0; i < shards; ++i) {
    lists.push_back(metrics[i].top_rooms.load());
    if (lists.back()) {
      for (const TopRoom& t : *lists.back()) rooms.push_back(&t);
    }
  }
  // Each shard published its own best: the best of those, ties by name.
  std::sort(rooms.begin(), rooms.end(), [](const TopRoom* a, const TopRoom* b) {
    return a->online != b->online ? a->online > b->online : a->room < b->room;
  });
  if (rooms.size() > top) rooms.resize(top);
  char line[256];
  for (const Family& f : kFamilies) {
    std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name);
    *out += line;
    for (const TopRoom* t : rooms) {
      std::snprintf(line, sizeof(line), "%s{room=\"%s\"} %.15g\n", f.name, t->room.c_str(),
                    f.value(*t));
      *out += line;
    }
  }
  *out +=
      "# HELP roomcast_room_viewers Viewers in the room by transport, all shards (the busiest "
      "rooms only)\n# TYPE roomcast_room_viewers gauge\n";
  for (const TopRoom* t : rooms) {
    for (size_t k = 0; k < 3; ++k) {
      std::snprintf(line, sizeof(line),
                    "roomcast_room_viewers{room=\"%s\",transport=\"%s\"} %llu\n", t->room.c_str(),
                    kTransportNames[k], static_cast<unsigned long long>(t->viewers[k]));
      *out += line;
    }
  }
}

}  // namespace roomcast::server
