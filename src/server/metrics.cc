// GET /metrics: Prometheus text format, one series per shard, read from every shard's relaxed
// counters (see server_shared.h).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "shard.h"

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
    {"roomcast_bytes_out_total", "counter", "Bytes sent", &ShardMetrics::bytes_out_total},
    {"roomcast_bytes_in_total", "counter", "Bytes received", &ShardMetrics::bytes_in_total},
    {"roomcast_send_calls_total", "counter", "Send operations started",
     &ShardMetrics::send_calls_total},
    {"roomcast_slow_skips_total", "counter", "Slow viewers skipped ahead with a gap",
     &ShardMetrics::slow_skips_total},
    {"roomcast_slow_closes_total", "counter", "Slow viewers closed",
     &ShardMetrics::slow_closes_total},
    {"roomcast_errors_sent_total", "counter", "Error replies sent",
     &ShardMetrics::errors_sent_total},
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
    {"roomcast_prio_sequenced_total", "counter", "Priority messages sequenced",
     &ShardMetrics::prio_sequenced_total},
    {"roomcast_retractions_total", "counter", "Messages retracted",
     &ShardMetrics::retractions_total},
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
    {"roomcast_log_segments", "gauge", "Durable log segment files of this shard",
     &ShardMetrics::log_segments},
    {"roomcast_log_disk_bytes", "gauge", "Durable log bytes on disk for this shard",
     &ShardMetrics::log_disk_bytes},
    {"roomcast_log_commit_us_sum", "counter",
     "Microseconds from submitting a group commit to it being durable (sum; divide by writes)",
     &ShardMetrics::log_commit_us_sum},
    {"roomcast_log_commit_us_max", "gauge", "Longest group commit since start, microseconds",
     &ShardMetrics::log_commit_us_max},
};

}  // namespace

std::string Shard::RenderMetrics() {
  PublishMetrics();  // our own figures are current; the others are at most 250 ms old
  std::string out;
  out.reserve(8192);
  char line[256];
  for (const Series& s : kSeries) {
    std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", s.name, s.help, s.name,
                  s.type);
    out += line;
    for (int i = 0; i < shared_->shards; ++i) {
      uint64_t v =
          (shared_->metrics[static_cast<size_t>(i)].*(s.field)).load(std::memory_order_relaxed);
      std::snprintf(line, sizeof(line), "%s{shard=\"%d\"} %llu\n", s.name, i,
                    static_cast<unsigned long long>(v));
      out += line;
    }
  }
  // The fan-out delay histogram (cumulative buckets, as Prometheus expects).
  out +=
      "# HELP roomcast_fanout_delay_ms From sequencing on the owner shard to the batch queued "
      "on this shard's viewers, per message\n# TYPE roomcast_fanout_delay_ms histogram\n";
  for (int i = 0; i < shared_->shards; ++i) {
    const ShardMetrics& m = shared_->metrics[static_cast<size_t>(i)];
    uint64_t cum = 0;
    for (size_t b = 0; b <= ShardMetrics::kDelayBuckets; ++b) {
      cum += m.fanout_delay_bucket[b].load(std::memory_order_relaxed);
      if (b < ShardMetrics::kDelayBuckets) {
        std::snprintf(line, sizeof(line),
                      "roomcast_fanout_delay_ms_bucket{shard=\"%d\",le=\"%llu\"} %llu\n", i,
                      static_cast<unsigned long long>(ShardMetrics::kDelayBucketsMs[b]),
                      static_cast<unsigned long long>(cum));
      } else {
        std::snprintf(line, sizeof(line),
                      "roomcast_fanout_delay_ms_bucket{shard=\"%d\",le=\"+Inf\"} %llu\n", i,
                      static_cast<unsigned long long>(cum));
      }
      out += line;
    }
    std::snprintf(
        line, sizeof(line),
        "roomcast_fanout_delay_ms_sum{shard=\"%d\"} "
        "%llu\nroomcast_fanout_delay_ms_count{shard=\"%d\"} %llu\n",
        i, static_cast<unsigned long long>(m.fanout_delay_sum_ms.load(std::memory_order_relaxed)),
        i, static_cast<unsigned long long>(cum));
    out += line;
  }
  // The hottest long-poll rooms of each shard (at most kHotPollRooms each).
  out +=
      "# HELP roomcast_longpoll_room_parked Long-polls parked per room (hottest rooms per "
      "shard)\n# TYPE roomcast_longpoll_room_parked gauge\n"
      "# HELP roomcast_longpoll_room_timeout_ms The base timeoutMs advised per room (hottest "
      "rooms per shard)\n# TYPE roomcast_longpoll_room_timeout_ms gauge\n";
  for (int i = 0; i < shared_->shards; ++i) {
    auto hot = shared_->metrics[static_cast<size_t>(i)].hot_poll_rooms.load();
    if (hot) out += *hot;
  }
  return out;
}

void Shard::PublishHotPollRooms() {
  // No long-poll rooms and none published: nothing to swap (most servers, most seconds).
  if (poll_rooms_.empty() && !metrics_.hot_poll_rooms.load()) return;
  std::vector<std::pair<uint64_t, const std::string*>> rooms;
  const uint64_t now = loop_.NowMs();
  for (auto& [name, st] : poll_rooms_) {
    // Rank by requests per second, the load a room puts on this shard.
    rooms.emplace_back(static_cast<uint64_t>(st.reqs.PerSec(now) * 1000) + st.parked, &name);
  }
  const size_t n = std::min(rooms.size(), kHotPollRooms);
  std::partial_sort(rooms.begin(), rooms.begin() + static_cast<std::ptrdiff_t>(n), rooms.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string text;
  char line[256];
  for (size_t k = 0; k < n; ++k) {
    const std::string& name = *rooms[k].second;
    const PollRoomState& st = poll_rooms_.find(name)->second;
    std::snprintf(line, sizeof(line),
                  "roomcast_longpoll_room_parked{shard=\"%d\",room=\"%s\"} %u\n"
                  "roomcast_longpoll_room_timeout_ms{shard=\"%d\",room=\"%s\"} %u\n",
                  id_, name.c_str(), st.parked, id_, name.c_str(), st.timeout_ms);
    text += line;
  }
  metrics_.hot_poll_rooms.store(
      text.empty() ? nullptr : std::make_shared<const std::string>(std::move(text)));
}

}  // namespace roomcast::server
