// One shard's block of metric counters. A counter is written only by its own shard (a relaxed
// load and store, no read-modify-write across threads) and read by whichever shard answers
// GET /metrics; each block sits on its own cache lines. Every layer that counts something for
// /metrics writes here (the sessions, the owner through OwnerCounters, the log through
// LogCounters); service/metrics_text.cc renders it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/histogram.h"

namespace roomcast {

// HTTP answers by status class (1xx..5xx), and error replies (HTTP and WebSocket) by code: part
// of ShardMetrics, written by its shard only.
struct AnswerCounters {
  std::atomic<uint64_t> http_responses_total[5] = {};
  static constexpr const char* kErrorCodes[] = {"bad_request",        "bad_cursor",
                                                "too_large",          "forbidden",
                                                "unauthorized",       "not_found",
                                                "method_not_allowed", "request_timeout",
                                                "draining",           "server_full",
                                                "unavailable",        "not_implemented",
                                                "not_supported",      "already_retracted",
                                                "not_a_message",      "gone",
                                                "internal",           "other"};
  static constexpr size_t kErrorCodeCount = sizeof(kErrorCodes) / sizeof(kErrorCodes[0]);
  std::atomic<uint64_t> errors_by_code[kErrorCodeCount] = {};
  void CountHttpStatus(int status) {
    if (status >= 100 && status < 600) Add(http_responses_total[status / 100 - 1], 1);
  }
  // A whole HTTP answer ("HTTP/1.1 200 OK\r\n...").
  void CountHttpResponse(std::string_view bytes) {
    if (bytes.size() < 12 || bytes.substr(0, 5) != "HTTP/") return;
    const size_t sp = bytes.find(' ');
    if (sp == std::string_view::npos || sp + 4 > bytes.size()) return;
    const char d = bytes[sp + 1];
    if (d >= '1' && d <= '5') Add(http_responses_total[d - '1'], 1);
  }
  void CountError(std::string_view code) {
    size_t i = 0;
    while (i + 1 < kErrorCodeCount && code != kErrorCodes[i]) ++i;
    Add(errors_by_code[i], 1);
  }

 private:
  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// One of a shard's busiest rooms as their owner (by online), with the numbers of GET
// /admin/rooms/R; /metrics shows the top --metrics-top-rooms of all shards (bounded label
// cardinality).
struct TopRoom {
  std::string room;
  uint64_t online = 0, unique_5m = 0, unique_total = 0;
  double msgs_per_s = 0;
  uint64_t viewers[3] = {};  // ws, sse, longpoll
  uint32_t lag_ms_p99 = 0;
};

// --redis (docs/cluster.md) and permessage-deflate: a shard's counters, a base of ShardMetrics.
struct TransportCounters {
  std::atomic<uint64_t> redis_messages_received_total{0};  // room messages from pub/sub
  std::atomic<uint64_t> redis_publishes_total{0};          // publish scripts sent
  std::atomic<uint64_t> redis_publish_refused_total{0};    // sends refused: Redis unreachable/late
  std::atomic<uint64_t> redis_stream_reads_total{0};       // XRANGE reads (joins, repairs)
  std::atomic<uint64_t> redis_stream_events_total{0};      // events those reads returned
  std::atomic<uint64_t> redis_repairs_total{0};            // rooms brought back in step
  std::atomic<uint64_t> redis_copy_resets_total{0};        // copies Redis disagreed with: read anew
  std::atomic<uint64_t> redis_subscribed_rooms{0};         // rooms this shard subscribes to now
  std::atomic<uint64_t> redis_probes_total{0};             // idle probes (PING) on pub/sub links
  std::atomic<uint64_t> redis_probe_reconnects_total{0};   // ...without a pong: link reconnected
  std::atomic<uint64_t> deflate_negotiated_total{0};       // upgrades that got permessage-deflate
  std::atomic<uint64_t> deflate_declined_total{0};  // offers declined (upgrade went on plain)
  std::atomic<uint64_t> deflate_batches_total{0};   // compressed twins of a batch built
  std::atomic<uint64_t> deflate_calls_total{0};     // messages run through deflate
  std::atomic<uint64_t> deflate_bytes_in_total{0};  // their bytes, and what came out
  std::atomic<uint64_t> deflate_bytes_out_total{0};
  std::atomic<uint64_t> inflate_messages_total{0};  // compressed client messages
};

struct alignas(64) ShardMetrics : AnswerCounters, TransportCounters {
  std::atomic<uint64_t> connections{0};
  // The shard's loop clock (monotonic ms), stored once per loop turn: the watchdog's proof that
  // the loop turns (service/watchdog.h).
  std::atomic<uint64_t> heartbeat_ms{0};
  std::atomic<uint64_t> ws_viewers{0};
  std::atomic<uint64_t> accepted_total{0};
  std::atomic<uint64_t> refused_full_total{0};
  std::atomic<uint64_t> refused_per_ip_total{0};         // over --max-conns-per-ip
  std::atomic<uint64_t> messages_in_total{0};            // accepted at ingest (WS or HTTP)
  std::atomic<uint64_t> messages_sequenced_total{0};     // sequenced here as the room's owner
  std::atomic<uint64_t> deliveries_total{0};             // message x viewer queued
  std::atomic<uint64_t> batches_total{0};                // room batches built
  std::atomic<uint64_t> room_events_total{0};            // unsequenced events x viewer queued
  std::atomic<uint64_t> reactions_total{0};              // reactions counted by their owner shard
  std::atomic<uint64_t> reactions_refused_total{0};      // ...refused by --react-rate-limit
  std::atomic<uint64_t> snapshot_builds_total{0};        // GET /rooms/R/snapshot builds asked
  std::atomic<uint64_t> snapshot_not_modified_total{0};  // its 304 answers
  std::atomic<uint64_t> bytes_out_total{0};
  std::atomic<uint64_t> bytes_in_total{0};
  std::atomic<uint64_t> send_calls_total{0};
  std::atomic<uint64_t> slow_skips_total{0};
  std::atomic<uint64_t> slow_closes_total{0};
  std::atomic<uint64_t> mesh_ring_full_total{0};
  std::atomic<uint64_t> mesh_wakeups_total{0};
  std::atomic<uint64_t> recv_enobufs_total{0};
  std::atomic<uint64_t> rooms_owned{0};
  std::atomic<uint64_t> room_replicas{0};
  std::atomic<uint64_t> loop_turns_total{0};
  std::atomic<uint64_t> sse_viewers{0};
  std::atomic<uint64_t> longpoll_parked{0};
  std::atomic<uint64_t> catchups{0};                  // stream resumes catching up now
  std::atomic<uint64_t> catchup_pages_total{0};       // catch-up pages queued
  std::atomic<uint64_t> catchup_queue_peak_bytes{0};  // largest send queue left by a page
  std::atomic<uint64_t> longpoll_requests_total{0};
  std::atomic<uint64_t> longpoll_responses_total{0};
  std::atomic<uint64_t> longpoll_response_messages_total{0};
  std::atomic<uint64_t> longpoll_answers_built_total{0};  // one can answer many parked polls
  std::atomic<uint64_t> messages_deduplicated_total{0};   // resends answered with the first ack
  std::atomic<uint64_t> prio_sequenced_total{0};
  std::atomic<uint64_t> retractions_total{0};
  std::atomic<uint64_t> moderation_refused_total{0};  // sends refused by bans, modes, limits
  std::atomic<uint64_t> log_records_total{0};
  std::atomic<uint64_t> log_bytes_total{0};
  std::atomic<uint64_t> log_writes_total{0};  // group commits (one write per batch)
  std::atomic<uint64_t> log_fsyncs_total{0};
  std::atomic<uint64_t> log_write_errors_total{0};
  std::atomic<uint64_t> access_log_write_errors_total{0};  // --access-log writes that failed
  std::atomic<uint64_t> access_log_dropped_total{0};       // lines over the shard's 1 MiB buffer
  std::atomic<uint64_t> log_segments{0};
  std::atomic<uint64_t> log_disk_bytes{0};
  // Time from a group commit's write being submitted to it being written (and synced, with
  // --fsync batch): what an ack waits for on top of the sequencing. In microseconds.
  static constexpr uint64_t kCommitBoundsUs[] = {100,   250,   500,   1000,   2500,   5000,
                                                 10000, 25000, 50000, 100000, 250000, 1000000};
  Histogram log_commit_us{kCommitBoundsUs};
  std::atomic<uint64_t> log_commit_us_max{0};  // since start
  // This shard's hottest long-poll rooms (parked polls and timeoutMs per room), as Prometheus
  // sample lines, rebuilt by the shard once a second and swapped in whole.
  struct HotPollRooms {
    std::string parked;
    std::string timeout;
  };
  std::atomic<std::shared_ptr<const HotPollRooms>> hot_poll_rooms;
  // This shard's busiest rooms as their owner (TopRoom), rebuilt once a second, swapped in whole.
  std::atomic<std::shared_ptr<const std::vector<TopRoom>>> top_rooms;

  // Time from sequencing on the owner to the batch being queued on this shard's viewers, per
  // message, in ms.
  static constexpr uint64_t kDelayBoundsMs[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000};
  Histogram fanout_delay_ms{kDelayBoundsMs};
  void ObserveFanoutDelay(uint64_t ms) { fanout_delay_ms.Observe(ms); }

  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void Set(std::atomic<uint64_t>& c, uint64_t v) { c.store(v, std::memory_order_relaxed); }
};

}  // namespace roomcast
