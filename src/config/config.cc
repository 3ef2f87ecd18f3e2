// The table of settings: each flag's name, help text and bounds, so --help always shows the real
// defaults and the config file and environment accept exactly the same names (config_file.cc).
#include "base/config.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_table.h"
#include "http/http_parser.h"

namespace roomcast {

namespace {

enum class Kind {
  kU32,
  kU16,
  kInt,
  kBool,
  kString,
  kListen,
  kSlowPolicy,
  kLogLevel,
  kLogFormat,
  kFsync,
  kRate  // Config::RateLimit: "N/S" or off
};

struct Option {
  const char* name;
  Kind kind;
  void* target;
  uint64_t min;
  uint64_t max;
  const char* help;
};

// The flags in --help order: connections, rooms and transports first, then what is kept across
// restarts and how the server is operated (OperationOptions).
std::vector<Option> OperationOptions(Config* c);

std::vector<Option> Options(Config* c) {
  std::vector<Option> opts = {
      {"listen", Kind::kListen, c, 0, 0, "ADDR:PORT to listen on (IPv6 as [::1]:PORT)"},
      {"shards", Kind::kInt, &c->shards, 0, 1024, "shard threads; 0 = one per CPU"},
      {"history", Kind::kU32, &c->history, 0, 1000000, "messages kept per room"},
      {"max-history-request", Kind::kU32, &c->max_history_request, 0, 1000000,
       "largest ?history=N honoured, and the page size of a resume streamed in pages"},
      {"max-frame", Kind::kU32, &c->max_frame, 16, 16u << 20,
       "largest client WebSocket frame payload in bytes (larger: close 1009)"},
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
  };
  for (Option& o : OperationOptions(c)) opts.push_back(o);
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
       "directory for state kept across restarts: the durable message log and the cursor key; "
       "'' = history in memory only (lost at a restart)"},
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
      {"no-demo", Kind::kBool, &c->no_demo, 0, 1,
       "do not serve the demo chat page at / (/roomcast.js and /roomcast.d.ts are still served)"},
      {"debug-stall", Kind::kBool, &c->debug_stall, 0, 1,
       "testing only: POST /debug/stall?secs=N blocks the shard that answers it for N (1..60) "
       "seconds, to test the systemd watchdog; never on a real server"},
  };
}

std::string DefaultOf(const Option& o) {
  switch (o.kind) {
    case Kind::kU32:
      return std::to_string(*static_cast<uint32_t*>(o.target));
    case Kind::kU16:
      return std::to_string(*static_cast<uint16_t*>(o.target));
    case Kind::kInt:
      return std::to_string(*static_cast<int*>(o.target));
    case Kind::kBool:
      return *static_cast<bool*>(o.target) ? "on" : "off";
    case Kind::kString: {
      const std::string& v = *static_cast<std::string*>(o.target);
      if (v.empty()) return "''";
      const std::string_view name = o.name;
      return name == "cursor-key" || name == "admin-key" ? "<set>" : v;  // never print keys
    }
    case Kind::kListen: {
      auto* c = static_cast<Config*>(o.target);
      bool v6 = c->listen_host.find(':') != std::string::npos;
      return (v6 ? "[" + c->listen_host + "]" : c->listen_host) + ":" +
             std::to_string(c->listen_port);
    }
    case Kind::kSlowPolicy:
      return *static_cast<SlowPolicy*>(o.target) == SlowPolicy::kSkip ? "skip" : "close";
    case Kind::kLogLevel: {
      static const char* names[] = {"debug", "info", "warn", "error"};
      return names[static_cast<int>(*static_cast<LogLevel*>(o.target))];
    }
    case Kind::kLogFormat:
      return *static_cast<LogFormat*>(o.target) == LogFormat::kJson ? "json" : "text";
    case Kind::kFsync: {
      static const char* names[] = {"batch", "interval", "never"};
      return names[static_cast<int>(*static_cast<FsyncMode*>(o.target))];
    }
    case Kind::kRate: {
      const auto* r = static_cast<Config::RateLimit*>(o.target);
      return r->count == 0 ? "off" : std::to_string(r->count) + "/" + std::to_string(r->secs);
    }
  }
  return "";
}

void PrintHelp(const std::vector<Option>& opts) {
  std::printf(
      "roomcast %s - live-chat connection server (WebSocket rooms, io_uring, one shard per core)\n"
      "\nUsage: roomcast [--config FILE] [--check-config] [--flag VALUE | --flag=VALUE | "
      "--bool-flag]...\n\nEvery flag may also be set in the config file (name = value, default "
      "%s;\nmissing is fine) or as ROOMCAST_NAME in the environment (--max-conns: "
      "ROOMCAST_MAX_CONNS);\nflags win over the environment, which wins over the file. SIGHUP "
      "reloads them (docs/operations.md).\n\nFlags (default in brackets):\n",
      kVersion, kDefaultConfigPath);
  std::printf("  --%-24s %s\n  --%-24s %s\n", "config", "config file to read ('' = none)",
              "check-config",
              "check the config file, environment and flags; print the result; exit 0 or 1");
  for (const Option& o : opts) {
    std::printf("  --%-24s %s [%s]\n", o.name, o.help, DefaultOf(o).c_str());
  }
  std::printf(
      "  --%-24s print this help and exit\n  --%-24s print the version and exit\n"
      "\nEndpoints: GET /ws?room=R[&since=SEQ][&history=N][&user=NAME] (WebSocket),\n"
      "GET /rooms/R/messages[?cursor=C] (long-poll), GET /rooms/R/events (SSE),\n"
      "GET /rooms/R/history?after=SEQ&limit=N, GET / (demo page), /roomcast.js, /roomcast.d.ts,\n"
      "POST /rooms/R/messages?user=NAME, POST /admin/rooms/R/publish,\n"
      "DELETE /admin/rooms/R/messages/SEQ, GET /healthz, /readyz, /metrics. See "
      "docs/protocol.md.\n",
      "help", "version");
}

bool ParseListen(std::string_view s, Config* c) {
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  uint64_t p = 0;
  if (host.empty() || !http::ParseDecimal(port, &p) || p > 65535) return false;
  if (host == "localhost") host = "127.0.0.1";
  c->listen_host = host;
  c->listen_port = static_cast<uint16_t>(p);
  return true;
}

// "N/S" (both 1..1,000,000) or "off" / "0".
bool ApplyRate(std::string_view value, Config::RateLimit* out, std::string* why) {
  if (value == "off" || value == "0") {
    *out = Config::RateLimit{};
    return true;
  }
  const size_t slash = value.find('/');
  uint64_t n = 0, secs = 0;
  if (slash == std::string_view::npos || !http::ParseDecimal(value.substr(0, slash), &n) ||
      !http::ParseDecimal(value.substr(slash + 1), &secs) || n < 1 || n > 1000000 || secs < 1 ||
      secs > 1000000) {
    *why = "expects N/S (messages/seconds, each 1..1000000, e.g. 20/30) or off";
    return false;
  }
  *out = Config::RateLimit{static_cast<uint32_t>(n), static_cast<uint32_t>(secs)};
  return true;
}

// The settings whose value is one of a few names.
bool ApplyNamed(const Option& o, std::string_view value, std::string* why) {
  switch (o.kind) {
    case Kind::kSlowPolicy:
      if (value == "skip") {
        *static_cast<SlowPolicy*>(o.target) = SlowPolicy::kSkip;
      } else if (value == "close") {
        *static_cast<SlowPolicy*>(o.target) = SlowPolicy::kClose;
      } else {
        *why = "expects skip or close";
        return false;
      }
      return true;
    case Kind::kLogLevel: {
      static const char* names[] = {"debug", "info", "warn", "error"};
      for (int i = 0; i < 4; ++i) {
        if (value == names[i]) {
          *static_cast<LogLevel*>(o.target) = static_cast<LogLevel>(i);
          return true;
        }
      }
      *why = "expects debug, info, warn or error";
      return false;
    }
    case Kind::kLogFormat:
      if (value == "text" || value == "json") {
        *static_cast<LogFormat*>(o.target) = value == "json" ? LogFormat::kJson : LogFormat::kText;
        return true;
      }
      *why = "expects text or json";
      return false;
    case Kind::kFsync: {
      static const char* names[] = {"batch", "interval", "never"};
      for (int i = 0; i < 3; ++i) {
        if (value == names[i]) {
          *static_cast<FsyncMode*>(o.target) = static_cast<FsyncMode>(i);
          return true;
        }
      }
      *why = "expects batch, interval or never";
      return false;
    }
    case Kind::kRate:
      return ApplyRate(value, static_cast<Config::RateLimit*>(o.target), why);
    default:
      break;
  }
  return false;
}

bool Apply(const Option& o, std::string_view value, std::string* why) {
  uint64_t v = 0;
  switch (o.kind) {
    case Kind::kU32:
    case Kind::kU16:
    case Kind::kInt:
      if (!http::ParseDecimal(value, &v)) {
        *why = "expects a whole number";
        return false;
      }
      if (v < o.min || v > o.max) {
        *why = "must be between " + std::to_string(o.min) + " and " + std::to_string(o.max);
        return false;
      }
      if (o.kind == Kind::kU32) *static_cast<uint32_t*>(o.target) = static_cast<uint32_t>(v);
      if (o.kind == Kind::kU16) *static_cast<uint16_t*>(o.target) = static_cast<uint16_t>(v);
      if (o.kind == Kind::kInt) *static_cast<int*>(o.target) = static_cast<int>(v);
      return true;
    case Kind::kBool:
      if (value == "1" || value == "true" || value == "on" || value == "yes") {
        *static_cast<bool*>(o.target) = true;
      } else if (value == "0" || value == "false" || value == "off" || value == "no") {
        *static_cast<bool*>(o.target) = false;
      } else {
        *why = "expects on or off";
        return false;
      }
      return true;
    case Kind::kString:
      if (value.size() > o.max) {
        *why = "is longer than " + std::to_string(o.max) + " bytes";
        return false;
      }
      *static_cast<std::string*>(o.target) = std::string(value);
      return true;
    case Kind::kListen:
      if (!ParseListen(value, static_cast<Config*>(o.target))) {
        *why = "expects ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
        return false;
      }
      return true;
    case Kind::kSlowPolicy:
    case Kind::kLogLevel:
    case Kind::kLogFormat:
    case Kind::kFsync:
    case Kind::kRate:
      return ApplyNamed(o, value, why);
  }
  return false;
}

// Reads the flag at argv[*i] into its target, and its value, which is either written as
// --name=value or is the next argument (then *i moves past it). kRun means go on with the next
// argument; kExitOk ends parsing (help or version printed), kExitUsage with *error.
ParseOutcome ParseFlag(const std::vector<Option>& opts, int argc, char** argv, int* i,
                       std::string* error) {
  std::string_view arg = argv[*i];
  if (arg == "--help" || arg == "-h") {
    PrintHelp(opts);
    return ParseOutcome::kExitOk;
  }
  if (arg == "--version") {
    std::printf("roomcast %s\n", kVersion);
    return ParseOutcome::kExitOk;
  }
  if (arg.substr(0, 2) != "--") {
    *error = "unexpected argument '" + std::string(arg) + "' (see --help)";
    return ParseOutcome::kExitUsage;
  }
  std::string_view name = arg.substr(2);
  std::string_view value;
  bool has_value = false;
  if (size_t eq = name.find('='); eq != std::string_view::npos) {
    value = name.substr(eq + 1);
    name = name.substr(0, eq);
    has_value = true;
  }
  if (name == "check-config") return ParseOutcome::kRun;  // read by ParseCommandLine
  if (name == "config") {
    if (!has_value) ++*i;  // the path, read by ParseCommandLine
    return ParseOutcome::kRun;
  }
  const Option* found = nullptr;
  for (const Option& o : opts) {
    if (name == o.name) found = &o;
  }
  if (!found) {
    *error = "unknown flag '--" + std::string(name) + "' (see --help)";
    return ParseOutcome::kExitUsage;
  }
  if (!has_value && found->kind == Kind::kBool) {
    value = "on";  // a bare boolean flag switches it on
    has_value = true;
  }
  if (!has_value) {
    if (*i + 1 >= argc) {
      *error = "--" + std::string(found->name) + " needs a value";
      return ParseOutcome::kExitUsage;
    }
    value = argv[++*i];
  }
  std::string why;
  if (!Apply(*found, value, &why)) {
    *error = "--" + std::string(found->name) + " " + std::string(value) + ": " + why;
    return ParseOutcome::kExitUsage;
  }
  return ParseOutcome::kRun;
}

// --cors-origins is *, empty (no origin may call) or a list of up to 250 printable origins; an
// entry of its own "*" inside a list is refused so that a list never means "everyone".
bool ValidCorsOrigins(const std::string& origins) {
  if (origins == "*") return true;
  size_t count = 0;
  for (std::string_view rest = origins; !rest.empty();) {
    const size_t comma = rest.find(',');
    std::string_view o = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!o.empty() && o.front() == ' ') o.remove_prefix(1);
    while (!o.empty() && o.back() == ' ') o.remove_suffix(1);
    bool ok = !o.empty() && o != "*";
    for (char ch : o) ok = ok && ch > ' ' && ch < 127;
    if (!ok || ++count > 250) return false;
  }
  return true;
}

}  // namespace

SetOutcome SetSetting(Config* c, std::string_view name, std::string_view value, std::string* why) {
  for (const Option& o : Options(c)) {
    if (name == o.name) return Apply(o, value, why) ? SetOutcome::kOk : SetOutcome::kBadValue;
  }
  return SetOutcome::kUnknownName;
}

bool IsBooleanSetting(std::string_view name) {
  Config c;
  for (const Option& o : Options(&c)) {
    if (name == o.name) return o.kind == Kind::kBool;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> SettingValues(const Config& cfg) {
  Config copy = cfg;
  std::vector<std::pair<std::string, std::string>> out;
  for (const Option& o : Options(&copy)) out.emplace_back(o.name, DefaultOf(o));
  return out;
}

std::string ValidateSettings(const Config& cfg) {
  if (cfg.recv_buf_count != 0 &&
      (cfg.recv_buf_count < 16 || (cfg.recv_buf_count & (cfg.recv_buf_count - 1)) != 0)) {
    return "--recv-buf-count must be 0 or a power of two from 16";
  }
  if (!ValidCorsOrigins(cfg.cors_origins)) {
    return "--cors-origins must be *, '' or a comma-separated list of up to 250 origins such as "
           "https://chat.example";
  }
  if (!cfg.cursor_key.empty()) {
    bool hex = cfg.cursor_key.size() == 64;
    for (char ch : cfg.cursor_key) hex = hex && std::isxdigit(static_cast<unsigned char>(ch));
    if (!hex) return "--cursor-key must be 64 hex characters (32 bytes)";
  }
  if (!cfg.admin_key.empty() && cfg.admin_key.size() < 16) {
    return "--admin-key (or ROOMCAST_ADMIN_KEY) must be at least 16 characters";
  }
  for (char ch : cfg.admin_key) {
    if (ch <= ' ' || ch >= 127) {
      return "--admin-key (or ROOMCAST_ADMIN_KEY) must be printable ASCII without spaces";
    }
  }
  return "";
}

ParseOutcome ApplyFlags(int argc, char** argv, Config* cfg, std::string* error) {
  std::vector<Option> opts = Options(cfg);
  for (int i = 1; i < argc; ++i) {
    if (ParseOutcome o = ParseFlag(opts, argc, argv, &i, error); o != ParseOutcome::kRun) return o;
  }
  return ParseOutcome::kRun;
}

std::string DescribeConfig(const Config& cfg) {
  std::string out;
  for (const auto& [name, value] : SettingValues(cfg)) {
    if (!out.empty()) out += ' ';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

}  // namespace roomcast
