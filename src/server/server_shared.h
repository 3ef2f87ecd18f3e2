// What the shards of one server share: the settings (read-only once the shards start), the mesh of
// rings, and one block of metric counters per shard. A counter is written only by its own shard
// (a relaxed load and store, no read-modify-write across threads) and read by whichever shard
// answers GET /metrics; each block sits on its own cache lines.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "io/peer_counts.h"
#include "mesh/mesh.h"

namespace roomcast::server {

struct alignas(64) ShardMetrics {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> ws_viewers{0};
  std::atomic<uint64_t> accepted_total{0};
  std::atomic<uint64_t> refused_full_total{0};
  std::atomic<uint64_t> refused_per_ip_total{0};      // over --max-conns-per-ip
  std::atomic<uint64_t> messages_in_total{0};         // accepted at ingest (WS or HTTP)
  std::atomic<uint64_t> messages_sequenced_total{0};  // sequenced here as the room's owner
  std::atomic<uint64_t> deliveries_total{0};          // message x viewer queued
  std::atomic<uint64_t> batches_total{0};             // room batches built
  std::atomic<uint64_t> bytes_out_total{0};
  std::atomic<uint64_t> bytes_in_total{0};
  std::atomic<uint64_t> send_calls_total{0};
  std::atomic<uint64_t> slow_skips_total{0};
  std::atomic<uint64_t> slow_closes_total{0};
  std::atomic<uint64_t> errors_sent_total{0};
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
  // --fsync batch): what an ack waits for on top of the sequencing.
  std::atomic<uint64_t> log_commit_us_sum{0};
  std::atomic<uint64_t> log_commit_us_max{0};  // since start
  // Prometheus lines for this shard's hottest long-poll rooms (parked polls and timeoutMs per
  // room), rebuilt by the shard once a second and swapped in whole.
  std::atomic<std::shared_ptr<const std::string>> hot_poll_rooms;

  // Time from sequencing on the owner to the batch being queued on this shard's viewers, per
  // message (ms): a Prometheus histogram with these upper bounds and +Inf.
  static constexpr uint64_t kDelayBucketsMs[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000};
  static constexpr size_t kDelayBuckets = sizeof(kDelayBucketsMs) / sizeof(kDelayBucketsMs[0]);
  std::atomic<uint64_t> fanout_delay_bucket[kDelayBuckets + 1] = {};  // non-cumulative; last: +Inf
  std::atomic<uint64_t> fanout_delay_sum_ms{0};
  void ObserveFanoutDelay(uint64_t ms) {
    size_t i = 0;
    while (i < kDelayBuckets && ms > kDelayBucketsMs[i]) ++i;
    Add(fanout_delay_bucket[i], 1);
    Add(fanout_delay_sum_ms, ms);
  }

  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void Set(std::atomic<uint64_t>& c, uint64_t v) { c.store(v, std::memory_order_relaxed); }
};

struct ServerShared {
  ServerShared(const Config& c, int n)
      : cfg(c),
        shards(n),
        mesh(n, c.mesh_ring),
        metrics(std::make_unique<ShardMetrics[]>(static_cast<size_t>(n))),
        peer_counts(c.max_conns_per_ip ? std::make_unique<io::PeerCounts>(c.max_conns_per_ip)
                                       : nullptr) {}
  const Config cfg;
  const int shards;
  std::vector<uint8_t> cursor_key;  // set before the shards are made; read-only afterwards
  // The most connections one shard's fixed-file table can hold under the descriptor limit; set
  // before the shards are made.
  uint32_t shard_table_cap = UINT32_MAX;
  mesh::Mesh mesh;
  std::unique_ptr<ShardMetrics[]> metrics;
  std::atomic<int> shards_ready{0};
  std::atomic<int> shards_failed{0};
  // Connections open on all shards (refused ones too, until closed): --max-conns is one limit
  // for the whole server, however unevenly SO_REUSEPORT spreads connections. Touched on accept
  // and close only, never on the data path.
  std::atomic<uint32_t> live_conns{0};
  // Connections per peer address across all shards (--max-conns-per-ip; null when 0, off).
  std::unique_ptr<io::PeerCounts> peer_counts;
  // Shards whose durable log failed: they refuse publishes until a restart, so /readyz says 503.
  std::atomic<int> logs_broken{0};
};

}  // namespace roomcast::server
