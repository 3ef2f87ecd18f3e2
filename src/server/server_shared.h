// What the shards of one server share: the settings (read-only once the shards start), the mesh of
// rings, and one block of metric counters per shard. A counter is written only by its own shard
// (a relaxed load and store, no read-modify-write across threads) and read by whichever shard
// answers GET /metrics; each block sits on its own cache lines.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/histogram.h"
#include "mesh/mesh.h"

namespace roomcast::server {

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

struct alignas(64) ShardMetrics : AnswerCounters {
  std::atomic<uint64_t> connections{0};
  // The shard's loop clock (monotonic ms), stored once per loop turn: the watchdog's proof that
  // the loop turns (watchdog.h).
  std::atomic<uint64_t> heartbeat_ms{0};
  std::atomic<uint64_t> ws_viewers{0};
  std::atomic<uint64_t> accepted_total{0};
  std::atomic<uint64_t> refused_full_total{0};
  std::atomic<uint64_t> messages_in_total{0};         // accepted at ingest (WS or HTTP)
  std::atomic<uint64_t> messages_sequenced_total{0};  // sequenced here as the room's owner
  std::atomic<uint64_t> deliveries_total{0};          // message x viewer queued
  std::atomic<uint64_t> batches_total{0};             // room batches built
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
  std::atomic<uint64_t> log_records_total{0};
  std::atomic<uint64_t> log_bytes_total{0};
  std::atomic<uint64_t> log_writes_total{0};  // group commits (one write per batch)
  std::atomic<uint64_t> log_fsyncs_total{0};
  std::atomic<uint64_t> log_write_errors_total{0};
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

// The settings SIGHUP may change while the shards run (reload.h). The main thread publishes a
// new immutable copy and bumps the generation; each shard picks it up at its next loop turn.
struct LiveSettings {
  std::string admin_key;     // --admin-key
  std::string cors_origins;  // --cors-origins
};

inline double UnixSecondsNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct ServerShared {
  ServerShared(const Config& c, int n)
      : cfg(c),
        shards(n),
        mesh(n, c.mesh_ring),
        metrics(std::make_unique<ShardMetrics[]>(static_cast<size_t>(n))),
        live(std::make_shared<const LiveSettings>(LiveSettings{c.admin_key, c.cors_origins})) {}
  // As at start; what SIGHUP changes is in `live` (and the log level, in base/log.h).
  const Config cfg;
  const int shards;
  const double start_unix_s = UnixSecondsNow();  // for process_start_time_seconds
  std::vector<uint8_t> cursor_key;  // set before the shards are made; read-only afterwards
  // The most connections one shard's fixed-file table can hold under the descriptor limit; set
  // before the shards are made.
  uint32_t shard_table_cap = UINT32_MAX;
  mesh::Mesh mesh;
  std::unique_ptr<ShardMetrics[]> metrics;
  std::atomic<int> shards_ready{0};
  std::atomic<int> shards_failed{0};
  std::atomic<int> shards_stopped{0};  // shard threads whose loop has returned
  // Set by the main thread at SIGTERM: /readyz answers 503 (the first step of the drain).
  std::atomic<bool> drain_notice{false};
  std::atomic<std::shared_ptr<const LiveSettings>> live;
  std::atomic<uint64_t> live_generation{0};
  // Connections open on all shards (refused ones too, until closed): --max-conns is one limit
  // for the whole server, however unevenly SO_REUSEPORT spreads connections. Touched on accept
  // and close only, never on the data path.
  std::atomic<uint32_t> live_conns{0};
  // Shards whose durable log failed: they refuse publishes until a restart, so /readyz says 503.
  std::atomic<int> logs_broken{0};
};

}  // namespace roomcast::server
