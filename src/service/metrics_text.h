// GET /metrics in the Prometheus text format: every family whole (HELP, TYPE, then its samples,
// one series per shard), read from the shards' relaxed counters (base/shard_metrics.h), plus
// roomcast_build_info and the process_* families (process_metrics.h). Any thread: it only loads
// relaxed atomics and the shards' published hot-room lists.
#pragma once

#include <cstddef>
#include <string>

#include "base/shard_metrics.h"

namespace roomcast::server {

// metrics: one block per shard, `shards` of them. start_unix_s: when the process started.
// top_rooms: the most rooms with roomcast_room_* series (--metrics-top-rooms).
[[nodiscard]] std::string RenderMetricsText(const ShardMetrics* metrics, int shards,
                                            double start_unix_s, size_t top_rooms = 10);

}  // namespace roomcast::server
