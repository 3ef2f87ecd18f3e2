// The roomcast_room_* families of GET /metrics: the busiest rooms of the whole process (the
// most viewers first, at most --metrics-top-rooms of them, so the label set stays bounded),
// from the lists each shard publishes for the rooms it owns (ShardMetrics::top_rooms). Any
// thread: it only loads the published lists.
#pragma once

#include <cstddef>
#include <string>

#include "base/shard_metrics.h"

namespace roomcast::server {

void AppendTopRooms(std::string* out, const ShardMetrics* metrics, int shards, size_t top);

}  // namespace roomcast::server
