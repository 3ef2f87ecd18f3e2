// What the shards of one server share: the settings (read-only once the shards start, but for
// what SIGHUP reloads: `live` and `token_keys`), the mesh of rings, and one block of metric
// counters per shard. A counter is written only by its own shard (a relaxed load and store, no
// read-modify-write across threads) and read by whichever shard answers GET /metrics; each block
// sits on its own cache lines.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/token_keys.h"
#include "base/access_log.h"
#include "base/config.h"
#include "base/shard_metrics.h"
#include "io/peer_counts.h"
#include "mesh/mesh.h"

namespace roomcast::server {

using roomcast::AnswerCounters;
using roomcast::ShardMetrics;

// The settings SIGHUP may change while the shards run (reload.h). The main thread publishes a
// new immutable copy and bumps the generation; each shard picks it up at its next loop turn.
struct LiveSettings {
  std::string admin_key;     // --admin-key
  std::string cors_origins;  // --cors-origins
  // --access-log, opened again at each SIGHUP (access_log_setup.h); null: off.
  std::shared_ptr<const AccessLogFile> access_log;
  // Moderation at each room's owner: --rate-limit, --mod-rate-limit, --unique-window-secs,
  // --react-rate-limit.
  Config::RateLimit rate_limit, mod_rate_limit;
  uint32_t unique_window_secs = 600;
  Config::RateLimit react_rate_limit;

  // The live settings of `c`, with this access log file.
  static LiveSettings Of(const Config& c, std::shared_ptr<const AccessLogFile> log = nullptr) {
    return LiveSettings{c.admin_key,      c.cors_origins,       std::move(log),    c.rate_limit,
                        c.mod_rate_limit, c.unique_window_secs, c.react_rate_limit};
  }
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
        live(std::make_shared<const LiveSettings>(LiveSettings::Of(c))),
        peer_counts(c.max_conns_per_ip ? std::make_unique<io::PeerCounts>(c.max_conns_per_ip)
                                       : nullptr) {}
  // As at start; what SIGHUP changes is in `live` (and the log level, in base/log.h).
  const Config cfg;
  const int shards;
  const double start_unix_s = UnixSecondsNow();  // for process_start_time_seconds
  std::vector<uint8_t> cursor_key;  // set before the shards are made; read-only afterwards
  // The keys user tokens are checked with (--jwt-secret-file, ROOMCAST_JWT_SECRET,
  // --jwt-public-key-file); null: none configured, every token is refused. Set before the shards
  // and replaced by the main thread at SIGHUP (user_token_keys.h); a shard reads it once per token
  // check, so a new connection is checked with the keys of that moment.
  std::atomic<std::shared_ptr<const auth::TokenKeys>> token_keys;
  uint64_t token_keys_digest = 0;  // of the key material in force; main thread only
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
  // Connections per peer address across all shards (--max-conns-per-ip; null when 0, off).
  std::unique_ptr<io::PeerCounts> peer_counts;
  // Shards whose durable log failed: they refuse publishes until a restart, so /readyz says 503.
  std::atomic<int> logs_broken{0};
};

}  // namespace roomcast::server
