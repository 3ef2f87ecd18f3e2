// Every setting of the server, with its default, in one place. `roomcast --help` prints them from
// the same table (config.cc), so the help and the defaults cannot drift apart.
#pragma once

#include <cstdint>
#include <string>

namespace roomcast {

enum class SlowPolicy { kSkip, kClose };
enum class FsyncMode { kBatch, kInterval, kNever };
enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText = 0, kJson = 1 };

struct Config {
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 8080;
  int shards = 0;                       // 0: one per online CPU
  uint32_t history = 1000;              // messages kept per room
  uint32_t max_history_request = 1000;  // ?history=N is capped at this
  uint32_t max_frame = 65536;           // largest client WebSocket frame payload (bytes)
  bool deflate = false;                 // permessage-deflate offered by clients is accepted
  uint32_t deflate_min_bytes = 256;     // server messages larger than this may be compressed
  uint32_t max_conns = 100000;          // connections the whole server holds
  uint32_t max_conns_per_ip = 0;        // connections one peer address holds (0: no limit)
  uint32_t tick_ms = 5;                 // shortest interval between two flushes of a room
  uint32_t send_budget = 50000;         // sends per second per CPU core (paces big rooms)
  SlowPolicy slow_policy = SlowPolicy::kSkip;
  uint32_t max_queue_bytes = 1 << 20;  // per-connection send queue bound
  uint32_t max_text = 500;             // message text, in code points
  uint32_t max_body = 16384;           // HTTP request body bytes
  uint32_t max_head = 8192;            // HTTP request head bytes
  uint32_t max_headers = 64;
  uint32_t max_rooms = 100000;           // rooms one shard owns at most
  uint32_t ping_secs = 30;               // WebSocket ping after this much silence
  uint32_t pong_timeout_secs = 15;       // close when the ping is not answered in time
  uint32_t handshake_timeout_secs = 10;  // a connection must send its request head by then
  uint32_t keepalive_secs = 60;          // idle HTTP keep-alive connections are closed after
  uint32_t drain_secs = 4;               // at SIGTERM: time allowed to say bye and close
  uint32_t drain_notice_secs = 0;        // at SIGTERM, before the bye: /readyz 503 this long
  uint32_t bye_reconnect_ms = 1000;      // reconnect_ms in the bye message
  uint32_t recv_buf_size = 4096;
  uint32_t recv_buf_count = 0;    // per shard, shared by its connections; 0: 512 / shards, 64..256
  uint32_t mesh_ring = 16384;     // items per shard-to-shard ring
  uint32_t poll_hold_ms = 25000;  // a long-poll at the head is held this long at most
  uint32_t poll_history = 10;     // messages in a first long-poll answer without ?history
  uint32_t poll_budget = 20000;   // long-poll requests/s one room may cause; 0: pacing off
  uint32_t poll_max_timeout_ms = 10000;  // the longest timeoutMs ever advised
  uint32_t sse_heartbeat_secs = 15;      // comment line on every SSE stream this often
  std::string cors_origins = "*";        // "*", a comma-separated origin list, or "" (no CORS)
  std::string cursor_key;                // 64 hex chars; empty: from --data-dir, else random
  std::string data_dir;                  // where state that outlives a restart is kept
  std::string redis;  // --redis HOST:PORT[,...]: many nodes share rooms (docs/cluster.md); "": one
  // The durable log (with --data-dir): see docs/durability.md.
  FsyncMode fsync = FsyncMode::kInterval;
  uint32_t fsync_interval_ms = 1000;  // kInterval: fdatasync at least this often
  uint32_t segment_mb = 64;           // a shard's log segment is rolled at this size
  uint32_t retain_mb = 4096;          // per shard; 0: no limit
  uint32_t retain_hours = 168;        // closed segments older than this go; 0: no limit
  uint32_t prio_history = 100;        // priority events kept per room (beyond --history)
  uint32_t redis_probe_ms = 5000;     // --redis: PING a pub/sub link silent this long
  uint32_t dedup_secs = 300;          // a cid resent within this gets its original ack; 0: off
  uint32_t dedup_max = 100000;        // cids remembered per shard at most
  std::string admin_key;              // Bearer key for /admin/...; empty: admin API off
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  std::string access_log;       // a file getting one line per HTTP answer; empty: none
  bool debug_stall = false;     // testing only: POST /debug/stall blocks a shard (watchdog test)
  bool dev_auth = false;        // ?user=NAME names an unverified client (see --help)
  std::string jwt_secret_file;  // HS256 secret (or env ROOMCAST_JWT_SECRET); see auth/
  std::string jwt_public_key_file;  // RS256 / ES256 public key, PEM
  // Moderation at each room's owner (PROTOCOL.md, "Moderation"): messages per user per room in
  // any window of secs (count 0: no limit), for everyone and for moderators and up.
  struct RateLimit {
    uint32_t count = 0;
    uint32_t secs = 0;
  };
  RateLimit rate_limit{20, 30};       // --rate-limit
  RateLimit mod_rate_limit{100, 30};  // --mod-rate-limit
  uint32_t unique_window_secs = 600;  // --unique-window-secs (unique chat mode)
  RateLimit react_rate_limit{10, 1};  // --react-rate-limit (reactions per user per room)
  // Presence and reactions (PROTOCOL.md, "Presence, counts and hot rooms").
  uint32_t reaction_window_ms = 1000;  // --reaction-window-ms: one `reactions` event per window
  uint32_t state_interval_ms = 2000;   // --state-interval-ms: presence `state` at most this often
  // Hot rooms (PROTOCOL.md, "Presence, counts and hot rooms"); 0: never.
  uint32_t hot_msgs_per_sec = 50;    // --hot-msgs-per-sec: automatic slow mode above this
  uint32_t max_visible_rate = 30;    // --max-visible-rate: sampled above this
  uint32_t hot_cool_down_secs = 60;  // --hot-cool-down-secs: under half the rate this long
  bool no_demo = false;  // do not serve the demo page at / (the JS client is served all the same)
  bool presence = true;  // --presence: distinct viewers, per-transport counts, rates and lag
  uint32_t metrics_top_rooms = 10;  // --metrics-top-rooms: rooms with their own /metrics series
};

// kExitUsage: a bad flag or setting (exit 2); kExitInvalid: --check-config found a problem (exit
// 1).
enum class ParseOutcome { kRun, kExitOk, kExitUsage, kExitInvalid };

// Read when no --config is given; a missing file at this path is not an error.
inline constexpr const char* kDefaultConfigPath = "/etc/roomcast/roomcast.conf";

// Fills *cfg from the config file, then ROOMCAST_* environment variables, then argv (each over
// the one before). Prints --help / --version / --check-config results to stdout and errors to
// stderr.
[[nodiscard]] ParseOutcome ParseCommandLine(int argc, char** argv, Config* cfg);
// The same sources again, quietly (for SIGHUP): false with *error, *cfg then unspecified.
[[nodiscard]] bool LoadConfig(int argc, char** argv, Config* cfg, std::string* error);

// One line with every setting, for the start-up log.
[[nodiscard]] std::string DescribeConfig(const Config& cfg);

inline constexpr const char* kVersion = "0.1.0";

}  // namespace roomcast
