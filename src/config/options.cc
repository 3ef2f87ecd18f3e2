// The settings table (options.h): every flag with its bounds and help text.
#include "config/options.h"

namespace roomcast::config_options {

std::vector<Option> Options(Config* c) {
  std::vector<Option> opts = {
      {"listen", Kind::kListen, c, 0, 0, "ADDR:PORT to listen on (IPv6 as [::1]:PORT)"},
      {"shards", Kind::kInt, &c->shards, 0, 1024, "shard threads; 0 = one per CPU"},
      {"history", Kind::kU32, &c->history, 0, 1000000, "messages kept per room"},
      {"max-history-request", Kind::kU32, &c->max_history_request, 0, 1000000,
       "largest ?history=N honoured, and the page size of a resume streamed in pages"},
      {"max-frame", Kind::kU32, &c->max_frame, 16, 16u << 20,
       "largest client WebSocket frame payload in bytes (larger: close 1009)"},
      {"deflate", Kind::kBool, &c->deflate, 0, 1,
       "on|off: accept permessage-deflate from WebSocket clients that offer it (each batch "
       "compressed once per shard; docs/protocol.md, Compression)"},
      {"deflate-min-bytes", Kind::kU32, &c->deflate_min_bytes, 0, 16u << 20,
       "server messages larger than this many bytes are compressed for deflate clients (when "
       "that makes them smaller)"},
      {"max-conns", Kind::kU32, &c->max_conns, 1, 100000000,
       "connections held by the whole server (more: 503)"},
      {"max-conns-per-ip", Kind::kU32, &c->max_conns_per_ip, 0, 100000000,
       "connections one client address holds across the server (more: 503); 0 = no limit"},
      {"tick-ms", Kind::kU32, &c->tick_ms, 1, 1000, "shortest interval between flushes of a room"},
      {"send-budget", Kind::kU32, &c->send_budget, 1000, 100000000,
       "sends per second per CPU core (shards sharing cores share it); big rooms flush less "
       "often to stay within it"},
      {"slow-policy", Kind::kSlowPolicy, &c->slow_policy, 0, 0,
       "skip|close: a viewer over --max-queue-bytes skips ahead with a gap, or is closed"},
      {"max-queue-bytes", Kind::kU32, &c->max_queue_bytes, 1024, 1u << 30,
       "send queue bound per connection in bytes"},
      {"max-text", Kind::kU32, &c->max_text, 1, 100000, "message text limit in code points"},
      {"max-body", Kind::kU32, &c->max_body, 256, 16u << 20, "HTTP request body limit in bytes"},
      {"max-head", Kind::kU32, &c->max_head, 512, 1u << 20, "HTTP request head limit in bytes"},
      {"max-headers", Kind::kU32, &c->max_headers, 8, 100, "HTTP request header count limit"},
      {"max-rooms", Kind::kU32, &c->max_rooms, 1, 100000000, "rooms one shard owns at most"},
      {"ping-secs", Kind::kU32, &c->ping_secs, 1, 86400, "WebSocket ping after this much silence"},
      {"pong-timeout-secs", Kind::kU32, &c->pong_timeout_secs, 1, 86400,
       "close a WebSocket whose ping is not answered within this"},
      {"handshake-timeout-secs", Kind::kU32, &c->handshake_timeout_secs, 1, 3600,
       "close a connection that sends no request head within this"},
      {"keepalive-secs", Kind::kU32, &c->keepalive_secs, 1, 86400,
       "close an idle HTTP keep-alive connection after this"},
      {"drain-secs", Kind::kU32, &c->drain_secs, 1, 60, "at SIGTERM, time to say bye and close"},
      {"drain-notice-secs", Kind::kU32, &c->drain_notice_secs, 0, 300,
       "at SIGTERM, first answer /readyz with 503 for this long while serving as before (load "
       "balancers see it), then say bye; 0 = bye at once"},
      {"bye-reconnect-ms", Kind::kU32, &c->bye_reconnect_ms, 0, 3600000,
       "reconnect_ms sent in the bye message"},
      {"recv-buf-size", Kind::kU32, &c->recv_buf_size, 512, 1u << 20,
       "bytes per provided receive buffer"},
      {"recv-buf-count", Kind::kU32, &c->recv_buf_count, 0, 32768,
       "provided receive buffers per shard (power of two; 0 = 512 / shards, within 64..256)"},
      {"mesh-ring", Kind::kU32, &c->mesh_ring, 64, 1u << 24, "items per shard-to-shard ring"},
      {"poll-hold-ms", Kind::kU32, &c->poll_hold_ms, 100, 600000,
       "hold a long-poll at the room's head at most this long"},
      {"poll-history", Kind::kU32, &c->poll_history, 0, 1000000,
       "messages in a first long-poll answer when ?history is not given"},
      {"poll-budget", Kind::kU32, &c->poll_budget, 0, 100000000,
       "long-poll requests per second one room may cause (server-wide, split across shards); "
       "busy rooms advise a longer timeoutMs to stay within it; 0 = pacing off"},
      {"poll-max-timeout-ms", Kind::kU32, &c->poll_max_timeout_ms, 0, 600000,
       "the longest timeoutMs a long-poll answer advises"},
      {"sse-heartbeat-secs", Kind::kU32, &c->sse_heartbeat_secs, 1, 3600,
       "send an SSE comment line this often so proxies keep streams open"},
      {"hot-msgs-per-sec", Kind::kU32, &c->hot_msgs_per_sec, 0, 1000000,
       "a room whose ordinary messages pass this rate gets slow mode by itself (\"auto\":true) "
       "until it stays under half of it for --hot-cool-down-secs; 0 = never"},
      {"max-visible-rate", Kind::kU32, &c->max_visible_rate, 0, 1000000,
       "ordinary messages per second a room's viewers see at most: above it every viewer gets "
       "the same sample (never of priority messages, moderation events, a viewer's own "
       "messages or its @mentions); 0 = never sample"},
      {"hot-cool-down-secs", Kind::kU32, &c->hot_cool_down_secs, 1, 86400,
       "automatic slow mode ends once the room's rate stays under half --hot-msgs-per-sec this "
       "long"},
  };
  for (Option& o : OperationOptions(c)) opts.push_back(o);
  for (Option& o : ClusterOptions(c)) opts.push_back(o);
  return opts;
}

std::vector<Option> OperationOptions(Config* c) {
  return {
      {"cors-origins", Kind::kString, &c->cors_origins, 0, 4096,
       "origins whose pages may call the server: *, a comma-separated list, or '' for none"},
      {"cursor-key", Kind::kString, &c->cursor_key, 0, 64,
       "64 hex chars signing long-poll cursors (default: kept in --data-dir, else random per "
       "start, so cursors do not survive a restart)"},
      {"data-dir", Kind::kString, &c->data_dir, 0, 4096,
       "state kept across restarts: the message log and cursor key (--redis: the cursor key and "
       "a local cache in <dir>/cache, never trusted over Redis); '' = history in memory only"},
      {"redis", Kind::kString, &c->redis, 0, 4096,
       "HOST:PORT[,HOST:PORT...]: run as one of many nodes sharing every room through these "
       "Redis instances (rooms spread over them by a consistent hash; docs/cluster.md); '' = "
       "this node alone is the service"},
      {"fsync", Kind::kFsync, &c->fsync, 0, 0,
       "batch|interval|never: when the log is fsynced. batch: before each ack (survives power "
       "loss); interval: every --fsync-interval-ms (acks wait for the write only: a crash of "
       "the process loses nothing, of the machine up to the interval); never: the kernel "
       "decides"},
      {"fsync-interval-ms", Kind::kU32, &c->fsync_interval_ms, 10, 60000,
       "with --fsync interval, fdatasync the log at least this often"},
      {"segment-mb", Kind::kU32, &c->segment_mb, 1, 4096,
       "roll a shard's log segment at this size"},
      {"retain-mb", Kind::kU32, &c->retain_mb, 0, 16u << 20,
       "keep at most this many MiB of log per shard (whole old segments go); 0 = no limit"},
      {"retain-hours", Kind::kU32, &c->retain_hours, 0, 24u * 3650,
       "delete log segments last written longer ago than this; 0 = no limit"},
      {"prio-history", Kind::kU32, &c->prio_history, 0, 100000,
       "priority messages (prio, retractions) kept per room, on top of --history"},
      {"dedup-secs", Kind::kU32, &c->dedup_secs, 0, 86400,
       "a send whose cid the same user used in the room within this gets the original ack "
       "instead of a second copy; 0 = off"},
      {"dedup-max", Kind::kU32, &c->dedup_max, 0, 100000000, "cids remembered per shard at most"},
      {"admin-key", Kind::kString, &c->admin_key, 0, 256,
       "Bearer key for the /admin/ endpoints (16..256 chars; or env ROOMCAST_ADMIN_KEY); '' = "
       "admin API off"},
      {"log-level", Kind::kLogLevel, &c->log_level, 0, 0,
       "debug|info|warn|error (debug adds a line per refused request, rate-limited)"},
      {"log-format", Kind::kLogFormat, &c->log_format, 0, 0,
       "text|json: one line of text, or one JSON object, per event on stderr (and per access "
       "log line)"},
      {"access-log", Kind::kString, &c->access_log, 0, 4096,
       "file getting a line per HTTP request answered and per WebSocket, SSE or long-poll session "
       "ended (no token values); reopened at SIGHUP; '' = none"},
      {"dev-auth", Kind::kBool, &c->dev_auth, 0, 1,
       "development only: ?user=NAME names an unverified user with no roles (off: ?user= is "
       "ignored and only a token names a user)"},
      {"jwt-secret-file", Kind::kString, &c->jwt_secret_file, 0, 4096,
       "file holding the HS256 secret that signs user tokens (or the secret itself in env "
       "ROOMCAST_JWT_SECRET); read again at SIGHUP; '' = none"},
      {"jwt-public-key-file", Kind::kString, &c->jwt_public_key_file, 0, 4096,
       "PEM public key (RSA >= 2048 bits: RS256, or P-256: ES256) checking user tokens; read "
       "again at SIGHUP; '' = none"},
      {"rate-limit", Kind::kRate, &c->rate_limit, 0, 0,
       "N/S: at most N messages per user per room in any S seconds (refused: rate_limited with "
       "retry_ms); off = no limit"},
      {"mod-rate-limit", Kind::kRate, &c->mod_rate_limit, 0, 0,
       "N/S: the same for moderators, broadcasters and admins of the room; off = no limit"},
      {"unique-window-secs", Kind::kU32, &c->unique_window_secs, 1, 86400,
       "unique chat mode refuses a text sent in the room within this many seconds"},
      {"react-rate-limit", Kind::kRate, &c->react_rate_limit, 0, 0,
       "N/S: at most N reactions per user (anonymous viewer: per connection) per room per S "
       "seconds, a token bucket (refused: rate_limited with retry_ms); off = no limit"},
      {"reaction-window-ms", Kind::kU32, &c->reaction_window_ms, 100, 60000,
       "each room sends at most one `reactions` event, with the totals, per this many ms"},
      {"state-interval-ms", Kind::kU32, &c->state_interval_ms, 0, 60000,
       "a room's `state` event with its online count goes out at most this often, when the "
       "count changed; 0 = only when the modes change"},
      {"presence", Kind::kBool, &c->presence, 0, 1,
       "per-room distinct viewers (HyperLogLog), viewers per transport, message rate and fan-out "
       "lag for GET /admin/rooms and /metrics (--presence=off: online counts only)"},
      {"metrics-top-rooms", Kind::kU32, &c->metrics_top_rooms, 0, 100,
       "rooms (the most viewers first) given their own roomcast_room_* series in /metrics"},
      {"no-demo", Kind::kBool, &c->no_demo, 0, 1,
       "do not serve the demo chat page at / (/roomcast.js and /roomcast.d.ts are still served)"},
      {"debug-stall", Kind::kBool, &c->debug_stall, 0, 1,
       "testing only: POST /debug/stall?secs=N blocks the shard that answers it for N (1..60) "
       "seconds, to test the systemd watchdog; never on a real server"},
  };
}

// --redis's own tuning (docs/cluster.md).
std::vector<Option> ClusterOptions(Config* c) {
  return {
      {"redis-probe-ms", Kind::kU32, &c->redis_probe_ms, 100, 600000,
       "--redis: a pub/sub link silent this long is sent a PING; no pong within 2 s (or this, "
       "if shorter) reconnects it and repairs its rooms from their streams"},
  };
}

}  // namespace roomcast::config_options
