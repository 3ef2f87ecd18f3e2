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

#include "base/redis_address.h"
#include "config/config_table.h"
#include "config/options.h"
#include "http/http_parser.h"

namespace roomcast {

using config_options::Kind;
using config_options::Option;
using config_options::Options;

namespace {

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
    // `--flag on|off` as a separate word; a bare boolean flag switches it on.
    const bool word = *i + 1 < argc && (std::string_view(argv[*i + 1]) == "on" ||
                                        std::string_view(argv[*i + 1]) == "off");
    value = word ? std::string_view(argv[++*i]) : std::string_view("on");
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
  if (!cfg.redis.empty()) {
    std::vector<base::RedisAddress> addrs;
    std::string err;
    if (!base::ParseRedisAddresses(cfg.redis, &addrs, &err)) return "--redis: " + err;
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
