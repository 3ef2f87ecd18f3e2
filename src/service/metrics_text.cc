// GET /metrics in the Prometheus text format (metrics_text.h).
#include "metrics_text.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>

#include "base/config.h"
#include "process_metrics.h"
#include "room_metrics.h"

namespace roomcast::server {

namespace {

struct Series {
  const char* name;
  const char* type;
  const char* help;
  std::atomic<uint64_t> ShardMetrics::*field;
};

constexpr Series kSeries[] = {
    {"roomcast_connections", "gauge", "Open connections", &ShardMetrics::connections},
    {"roomcast_ws_viewers", "gauge", "WebSocket viewers in rooms", &ShardMetrics::ws_viewers},
    {"roomcast_accepted_total", "counter", "Connections accepted", &ShardMetrics::accepted_total},
    {"roomcast_refused_full_total", "counter", "Connections refused with 503 (over --max-conns)",
     &ShardMetrics::refused_full_total},
    {"roomcast_refused_per_ip_total", "counter",
     "Connections refused with 503 (their address held --max-conns-per-ip)",
     &ShardMetrics::refused_per_ip_total},
    {"roomcast_messages_in_total", "counter", "Chat messages accepted from clients",
     &ShardMetrics::messages_in_total},
    {"roomcast_messages_sequenced_total", "counter", "Messages sequenced by their owner shard",
     &ShardMetrics::messages_sequenced_total},
    {"roomcast_deliveries_total", "counter", "Messages queued to viewers (message x viewer)",
     &ShardMetrics::deliveries_total},
    {"roomcast_batches_total", "counter", "Room batches built (one per room per flush)",
     &ShardMetrics::batches_total},
    {"roomcast_room_events_total", "counter",
     "Unsequenced room events queued to viewers (reactions windows, presence state; event x "
     "viewer)",
     &ShardMetrics::room_events_total},
    {"roomcast_reactions_total", "counter", "Reactions counted by their room's owner shard",
     &ShardMetrics::reactions_total},
    {"roomcast_reactions_refused_total", "counter", "Reactions refused by --react-rate-limit",
     &ShardMetrics::reactions_refused_total},
    {"roomcast_snapshot_builds_total", "counter",
     "Room snapshots built (GET /rooms/R/snapshot; at most one per room and limit per shard per "
     "second)",
     &ShardMetrics::snapshot_builds_total},
    {"roomcast_snapshot_not_modified_total", "counter",
     "Snapshot requests answered 304 (If-None-Match with the current ETag)",
     &ShardMetrics::snapshot_not_modified_total},
    {"roomcast_bytes_out_total", "counter", "Bytes sent", &ShardMetrics::bytes_out_total},
    {"roomcast_bytes_in_total", "counter", "Bytes received", &ShardMetrics::bytes_in_total},
    {"roomcast_send_calls_total", "counter", "Send operations started",
     &ShardMetrics::send_calls_total},
    {"roomcast_slow_skips_total", "counter", "Slow viewers skipped ahead with a gap",
     &ShardMetrics::slow_skips_total},
    {"roomcast_slow_closes_total", "counter", "Slow viewers closed",
     &ShardMetrics::slow_closes_total},
    {"roomcast_mesh_ring_full_total", "counter", "Shard-to-shard pushes that found the ring full",
     &ShardMetrics::mesh_ring_full_total},
    {"roomcast_mesh_wakeups_total", "counter", "Wake-ups sent to sleeping shards",
     &ShardMetrics::mesh_wakeups_total},
    {"roomcast_recv_enobufs_total", "counter", "Receives paused for lack of provided buffers",
     &ShardMetrics::recv_enobufs_total},
    {"roomcast_rooms_owned", "gauge", "Rooms this shard sequences", &ShardMetrics::rooms_owned},
    {"roomcast_room_replicas", "gauge", "Rooms with viewers on this shard",
     &ShardMetrics::room_replicas},
    {"roomcast_loop_turns_total", "counter", "Event loop turns", &ShardMetrics::loop_turns_total},
    {"roomcast_sse_viewers", "gauge", "SSE viewers in rooms", &ShardMetrics::sse_viewers},
    {"roomcast_longpoll_parked", "gauge", "Long-polls parked at their room's head",
     &ShardMetrics::longpoll_parked},
    {"roomcast_catchups", "gauge", "WebSocket and SSE resumes still catching up in pages",
     &ShardMetrics::catchups},
    {"roomcast_catchup_pages_total", "counter", "Catch-up pages queued to resuming viewers",
     &ShardMetrics::catchup_pages_total},
    {"roomcast_catchup_queue_peak_bytes", "gauge",
     "The largest send queue a catch-up page left behind, since start (bounded by about "
     "--max-queue-bytes plus one page)",
     &ShardMetrics::catchup_queue_peak_bytes},
    {"roomcast_longpoll_requests_total", "counter", "Long-poll requests",
     &ShardMetrics::longpoll_requests_total},
    {"roomcast_longpoll_responses_total", "counter", "Long-poll answers with messages or empty",
     &ShardMetrics::longpoll_responses_total},
    {"roomcast_longpoll_response_messages_total", "counter",
     "Objects in long-poll answers (mean per answer: divide by responses)",
     &ShardMetrics::longpoll_response_messages_total},
    {"roomcast_longpoll_answers_built_total", "counter",
     "Long-poll answers built (a batch builds one per cursor, answer form and jitter slot and "
     "shares it among the parked polls)",
     &ShardMetrics::longpoll_answers_built_total},
    {"roomcast_messages_deduplicated_total", "counter",
     "Sends whose cid the user had used in the room within --dedup-secs (answered with the "
     "original ack, not sequenced again)",
     &ShardMetrics::messages_deduplicated_total},
    {"roomcast_redis_messages_received_total", "counter",
     "--redis: room messages received from Redis pub/sub (only rooms this node has viewers of)",
     &ShardMetrics::redis_messages_received_total},
    {"roomcast_redis_publishes_total", "counter", "--redis: publish scripts sent to Redis",
     &ShardMetrics::redis_publishes_total},
    {"roomcast_redis_publish_refused_total", "counter",
     "--redis: sends refused unavailable (Redis unreachable, or the script came too late)",
     &ShardMetrics::redis_publish_refused_total},
    {"roomcast_redis_stream_reads_total", "counter",
     "--redis: XRANGE reads of room streams (joins, history, repairs)",
     &ShardMetrics::redis_stream_reads_total},
    {"roomcast_redis_stream_events_total", "counter", "--redis: events those XRANGE reads returned",
     &ShardMetrics::redis_stream_events_total},
    {"roomcast_redis_copy_resets_total", "counter",
     "--redis: room copies (a restart's local cache, or memory) that Redis disagreed with "
     "(another epoch, a lower seq, another last event): forgotten and read anew",
     &ShardMetrics::redis_copy_resets_total},
    {"roomcast_redis_repairs_total", "counter",
     "--redis: rooms brought in step with their stream (after a join, a gap or a reconnect)",
     &ShardMetrics::redis_repairs_total},
    {"roomcast_redis_subscribed_rooms", "gauge", "--redis: rooms subscribed to now",
     &ShardMetrics::redis_subscribed_rooms},
    {"roomcast_redis_probes_total", "counter",
     "--redis: idle probes (PING) sent on pub/sub links silent for --redis-probe-ms",
     &ShardMetrics::redis_probes_total},
    {"roomcast_redis_probe_reconnects_total", "counter",
     "--redis: pub/sub links reconnected because an idle probe got no pong in time",
     &ShardMetrics::redis_probe_reconnects_total},
    {"roomcast_prio_sequenced_total", "counter", "Priority messages sequenced",
     &ShardMetrics::prio_sequenced_total},
    {"roomcast_retractions_total", "counter", "Messages retracted",
     &ShardMetrics::retractions_total},
    {"roomcast_access_log_write_errors_total", "counter", "Access log writes that failed (retried)",
     &ShardMetrics::access_log_write_errors_total},
    {"roomcast_access_log_dropped_total", "counter",
     "Access log lines dropped: over the 1 MiB a shard keeps while writes fail",
     &ShardMetrics::access_log_dropped_total},
    {"roomcast_moderation_refused_total", "counter",
     "Sends refused at the room's owner (bans, rate limits, modes, blocked terms; shadow-banned "
     "sends too)",
     &ShardMetrics::moderation_refused_total},
    {"roomcast_log_records_total", "counter", "Events appended to the durable log",
     &ShardMetrics::log_records_total},
    {"roomcast_log_bytes_total", "counter", "Bytes appended to the durable log",
     &ShardMetrics::log_bytes_total},
    {"roomcast_log_writes_total", "counter", "Durable log group commits (one write each)",
     &ShardMetrics::log_writes_total},
    {"roomcast_log_fsyncs_total", "counter", "Durable log fdatasyncs",
     &ShardMetrics::log_fsyncs_total},
    {"roomcast_log_write_errors_total", "counter",
     "Durable log writes or syncs that failed (the shard then refuses publishes)",
     &ShardMetrics::log_write_errors_total},
    {"roomcast_deflate_negotiated_total", "counter",
     "WebSocket upgrades that negotiated permessage-deflate",
     &ShardMetrics::deflate_negotiated_total},
    {"roomcast_deflate_declined_total", "counter",
     "permessage-deflate offers declined (the upgrade went on uncompressed)",
     &ShardMetrics::deflate_declined_total},
    {"roomcast_deflate_batches_total", "counter",
     "Compressed twins of a room batch built (at most one per batch, for all its deflate "
     "viewers)",
     &ShardMetrics::deflate_batches_total},
    {"roomcast_deflate_calls_total", "counter",
     "Messages run through deflate (one per message over --deflate-min-bytes per batch, never "
     "per viewer)",
     &ShardMetrics::deflate_calls_total},
    {"roomcast_deflate_bytes_in_total", "counter", "Payload bytes run through deflate",
     &ShardMetrics::deflate_bytes_in_total},
    {"roomcast_deflate_bytes_out_total", "counter",
     "What those payloads became (compressed, or their own size when sent plain)",
     &ShardMetrics::deflate_bytes_out_total},
    {"roomcast_inflate_messages_total", "counter", "Compressed client messages inflated",
     &ShardMetrics::inflate_messages_total},
    {"roomcast_log_segments", "gauge", "Durable log segment files of this shard",
     &ShardMetrics::log_segments},
    {"roomcast_log_disk_bytes", "gauge", "Durable log bytes on disk for this shard",
     &ShardMetrics::log_disk_bytes},
};

// One histogram family: per shard, cumulative buckets with `le` in base units (the observed
// unit divided by `per_unit`), then _sum and _count.
void AppendHistogram(std::string* out, const char* name, const char* help, int shards,
                     const ShardMetrics* metrics, Histogram ShardMetrics::*field, double per_unit) {
  char line[256];
  std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  *out += line;
  for (int i = 0; i < shards; ++i) {
    const Histogram& h = metrics[i].*field;
    uint64_t cum = 0;
    const size_t n = h.Bounds().size();
    for (size_t b = 0; b <= n; ++b) {
      cum += h.BucketCount(b);
      char le[32];
      if (b < n) {
        std::snprintf(le, sizeof(le), "%g", static_cast<double>(h.Bounds()[b]) / per_unit);
      } else {
        std::snprintf(le, sizeof(le), "+Inf");
      }
      std::snprintf(line, sizeof(line), "%s_bucket{shard=\"%d\",le=\"%s\"} %llu\n", name, i, le,
                    static_cast<unsigned long long>(cum));
      *out += line;
    }
    std::snprintf(line, sizeof(line), "%s_sum{shard=\"%d\"} %.17g\n%s_count{shard=\"%d\"} %llu\n",
                  name, i, static_cast<double>(h.Sum()) / per_unit, name, i,
                  static_cast<unsigned long long>(cum));
    *out += line;
  }
}

// Families with one more label than the shard: HTTP answers by status class, errors by code.
void AppendLabelled(std::string* out, int shards, const ShardMetrics* metrics) {
  char line[256];
  *out +=
      "# HELP roomcast_http_responses_total HTTP answers by status class (101 upgrades, SSE "
      "streams and long-poll answers included)\n# TYPE roomcast_http_responses_total counter\n";
  for (int i = 0; i < shards; ++i) {
    for (int k = 0; k < 5; ++k) {
      std::snprintf(line, sizeof(line),
                    "roomcast_http_responses_total{shard=\"%d\",class=\"%dxx\"} %llu\n", i, k + 1,
                    static_cast<unsigned long long>(
                        metrics[i].http_responses_total[k].load(std::memory_order_relaxed)));
      *out += line;
    }
  }
  *out +=
      "# HELP roomcast_errors_sent_total Error replies sent (HTTP and WebSocket), by error "
      "code\n# TYPE roomcast_errors_sent_total counter\n";
  for (int i = 0; i < shards; ++i) {
    for (size_t k = 0; k < ShardMetrics::kErrorCodeCount; ++k) {
      std::snprintf(line, sizeof(line),
                    "roomcast_errors_sent_total{shard=\"%d\",code=\"%s\"} %llu\n", i,
                    ShardMetrics::kErrorCodes[k],
                    static_cast<unsigned long long>(
                        metrics[i].errors_by_code[k].load(std::memory_order_relaxed)));
      *out += line;
    }
  }
}

// The hottest long-poll rooms of each shard (at most kHotPollRooms each), one family at a time.
void AppendHotPollRooms(std::string* out, int shards, const ShardMetrics* metrics) {
  std::shared_ptr<const ShardMetrics::HotPollRooms> hot[256];
  const int n = std::min(shards, 256);
  for (int i = 0; i < n; ++i) hot[i] = metrics[i].hot_poll_rooms.load();
  *out +=
      "# HELP roomcast_longpoll_room_parked Long-polls parked per room (hottest rooms per "
      "shard)\n# TYPE roomcast_longpoll_room_parked gauge\n";
  for (int i = 0; i < n; ++i) {
    if (hot[i]) *out += hot[i]->parked;
  }
  *out +=
      "# HELP roomcast_longpoll_room_timeout_seconds The base timeoutMs advised per room, in "
      "seconds (hottest rooms per shard)\n# TYPE roomcast_longpoll_room_timeout_seconds gauge\n";
  for (int i = 0; i < n; ++i) {
    if (hot[i]) *out += hot[i]->timeout;
  }
}

// The plain series of kSeries, then the longest group commit (a gauge in seconds).
void AppendSeries(std::string* out, int shards, const ShardMetrics* m) {
  char line[256];
  for (const Series& s : kSeries) {
    std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", s.name, s.help, s.name,
                  s.type);
    *out += line;
    for (int i = 0; i < shards; ++i) {
      const uint64_t v = (m[i].*(s.field)).load(std::memory_order_relaxed);
      std::snprintf(line, sizeof(line), "%s{shard=\"%d\"} %llu\n", s.name, i,
                    static_cast<unsigned long long>(v));
      *out += line;
    }
  }
  *out +=
      "# HELP roomcast_log_commit_max_seconds Longest durable log group commit since start\n"
      "# TYPE roomcast_log_commit_max_seconds gauge\n";
  for (int i = 0; i < shards; ++i) {
    std::snprintf(
        line, sizeof(line), "roomcast_log_commit_max_seconds{shard=\"%d\"} %g\n", i,
        static_cast<double>(m[i].log_commit_us_max.load(std::memory_order_relaxed)) / 1e6);
    *out += line;
  }
}

}  // namespace

std::string RenderMetricsText(const ShardMetrics* m, int shards, double start_unix_s,
                              size_t top_rooms) {
  std::string out;
  out.reserve(16384);
  char line[256];
  std::snprintf(line, sizeof(line),
                "# HELP roomcast_build_info The roomcast version this process runs\n# TYPE "
                "roomcast_build_info gauge\nroomcast_build_info{version=\"%s\"} 1\n",
                kVersion);
  out += line;
  AppendSeries(&out, shards, m);
  AppendHistogram(&out, "roomcast_fanout_delay_seconds",
                  "From sequencing on the owner shard to the batch queued on this shard's "
                  "viewers, per message",
                  shards, m, &ShardMetrics::fanout_delay_ms, 1e3);
  AppendHistogram(&out, "roomcast_log_commit_seconds",
                  "From submitting a durable log group commit to it being written (and synced "
                  "with --fsync batch)",
                  shards, m, &ShardMetrics::log_commit_us, 1e6);
  AppendLabelled(&out, shards, m);
  AppendHotPollRooms(&out, shards, m);
  AppendTopRooms(&out, m, shards, top_rooms);
  AppendProcessMetrics(&out, start_unix_s);
  return out;
}

}  // namespace roomcast::server
