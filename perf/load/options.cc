// The flag table of roomcast-load, its --help text and the loopback URL check.
#include "options.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace roomcast::load {

namespace {

enum class Kind { kU32, kInt, kDouble, kString, kBool };
enum Applies : unsigned { kFan = 1, kConn = 2, kBoth = 3 };

struct Flag {
  const char* name;
  Kind kind;
  void* target;
  double min;
  double max;
  unsigned applies;
  const char* help;
};

// One table: parsing, range checks and --help all come from it.
std::vector<Flag> FlagTable(Options* o) {
  return {
      {"url", Kind::kString, &o->url, 0, 0, kBoth,
       "ws://HOST:PORT[/path] of the server; HOST must be 127.x.x.x, localhost or [::1]"},
      {"viewers", Kind::kU32, &o->viewers, 0, 10000000, kFan,
       "viewer connections, spread round robin over the rooms"},
      {"rooms", Kind::kU32, &o->rooms, 1, 1000000, kBoth, "rooms named load-0 .. load-{R-1}"},
      {"publishers", Kind::kU32, &o->publishers, 0, 100000, kFan,
       "publisher connections (one room each, round robin; they receive like viewers)"},
      {"rate", Kind::kDouble, &o->rate, 0, 1e7, kBoth,
       "fanout: messages per second, all publishers together (paced, not bursts); "
       "connect: connections started per second (default there: 1000)"},
      {"size", Kind::kU32, &o->size, 1, 65536, kFan,
       "text bytes per message (at least the stamp prefix, ~40 bytes)"},
      {"duration", Kind::kDouble, &o->duration, 0.1, 86400, kFan, "seconds of measured publishing"},
      {"warmup", Kind::kDouble, &o->warmup, 0, 3600, kFan,
       "seconds of publishing before the measurement starts (not counted)"},
      {"conns", Kind::kU32, &o->conns, 1, 10000000, kConn, "idle viewer connections to open"},
      {"hold", Kind::kDouble, &o->hold, 0, 86400, kConn,
       "seconds to hold all connections open before closing them"},
      {"server-pid", Kind::kInt, &o->server_pid, 0, 1 << 30, kBoth,
       "server process id: report its CPU (/proc/PID/stat) and memory (/proc/PID/status)"},
      {"workers", Kind::kU32, &o->workers, 0, 64, kBoth,
       "worker processes sharing the connections (0: one per 16000 connections)"},
      {"source-ips", Kind::kU32, &o->source_ips, 1, 254, kBoth,
       "spread source addresses over 127.0.0.1 .. 127.0.0.K (IPv4 targets only)"},
      {"straggler-secs", Kind::kDouble, &o->straggler_secs, 0, 60, kFan,
       "after publishing, wait at most this long for late deliveries"},
      {"connect-timeout", Kind::kDouble, &o->connect_timeout, 0.1, 600, kBoth,
       "seconds a connection may take from connect() to its welcome frame"},
      {"json", Kind::kBool, &o->json, 0, 0, kBoth, "also print the results as one JSON line"},
  };
}

void PrintHelp(Options* o) {
  std::printf(
      "roomcast-load: load generator for roomcast (loopback only)\n\n"
      "usage:\n"
      "  roomcast-load fanout  --url ws://127.0.0.1:PORT --viewers V --rooms R --publishers P\n"
      "                        --rate M --size B --duration S [--warmup S] [--server-pid PID] "
      "[--json]\n"
      "  roomcast-load connect --url ws://127.0.0.1:PORT --conns N --rate C --hold S --rooms R\n"
      "                        [--server-pid PID] [--json]\n\n"
      "fanout:  V viewers and P publishers join rooms load-*; once every one has its welcome the\n"
      "         publishers send M msg/s in total for S seconds, each text stamped\n"
      "         \"t=<ns> p=<pub> n=<counter> \" and padded to B bytes; every viewer checks\n"
      "         order, loss and latency. See perf/README.md for the meaning of each figure.\n"
      "connect: opens N idle viewers at C per second, holds them S seconds, reports the\n"
      "         server's memory per connection, then closes them.\n\n"
      "flags (default in brackets):\n");
  Options defaults;
  for (const Flag& f : FlagTable(&defaults)) {
    std::string def;
    switch (f.kind) {
      case Kind::kU32:
        def = std::to_string(*static_cast<uint32_t*>(f.target));
        break;
      case Kind::kInt:
        def = std::to_string(*static_cast<int*>(f.target));
        break;
      case Kind::kDouble: {
        char b[32];
        std::snprintf(b, sizeof b, "%g", *static_cast<double*>(f.target));
        def = b;
        break;
      }
      case Kind::kString:
        def = *static_cast<std::string*>(f.target);
        break;
      case Kind::kBool:
        def = "off";
        break;
    }
    const char* which = f.applies == kBoth ? "" : (f.applies == kFan ? "fanout: " : "connect: ");
    std::printf("  --%-16s %s%s [%s]\n", f.name, which, f.help, def.c_str());
  }
  std::printf("  --%-16s this text\n", "help");
  (void)o;
}

bool SetValue(const Flag& f, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) || v < f.min || v > f.max) {
    std::fprintf(stderr, "roomcast-load: --%s wants a number in [%g, %g], got '%s'\n", f.name,
                 f.min, f.max, text);
    return false;
  }
  if (f.kind == Kind::kDouble) {
    *static_cast<double*>(f.target) = v;
    return true;
  }
  if (v != std::floor(v)) {
    std::fprintf(stderr, "roomcast-load: --%s wants a whole number, got '%s'\n", f.name, text);
    return false;
  }
  if (f.kind == Kind::kU32) *static_cast<uint32_t*>(f.target) = static_cast<uint32_t>(v);
  if (f.kind == Kind::kInt) *static_cast<int*>(f.target) = static_cast<int>(v);
  return true;
}

}  // namespace

bool ParseLoopbackUrl(const std::string& url, Target* t, std::string* why) {
  constexpr std::string_view kScheme = "ws://";
  std::string_view u(url);
  if (u.substr(0, kScheme.size()) != kScheme) {
    *why = "the URL must start with ws://";
    return false;
  }
  u.remove_prefix(kScheme.size());
  const size_t slash = u.find('/');
  std::string_view authority = u.substr(0, slash);
  if (slash != std::string_view::npos && u.size() > slash + 1)
    t->path = std::string(u.substr(slash));
  std::string_view host, port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return *why = "unterminated [IPv6] host", false;
    host = authority.substr(1, close - 1);
    if (authority.size() > close + 1 && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (port.empty()) return *why = "the URL needs an explicit port", false;
  const long p = std::strtol(std::string(port).c_str(), nullptr, 10);
  if (p <= 0 || p > 65535) return *why = "bad port '" + std::string(port) + "'", false;
  t->port = static_cast<uint16_t>(p);
  const std::string h(host);
  if (h == "localhost") {
    t->ipv6 = false;
    inet_pton(AF_INET, "127.0.0.1", &t->v4);
  } else if (inet_pton(AF_INET, h.c_str(), &t->v4) == 1) {
    t->ipv6 = false;
    if ((ntohl(t->v4.s_addr) >> 24) != 127) {
      return *why = "refusing non-loopback host " + h + " (only 127.x.x.x, localhost, ::1)", false;
    }
  } else if (inet_pton(AF_INET6, h.c_str(), &t->v6) == 1) {
    t->ipv6 = true;
    if (!IN6_IS_ADDR_LOOPBACK(&t->v6)) {
      return *why = "refusing non-loopback host " + h + " (only 127.x.x.x, localhost, ::1)", false;
    }
  } else {
    return *why = "refusing host '" + h + "' (only 127.x.x.x, localhost, ::1)", false;
  }
  t->host_header = std::string(authority);
  return true;
}

ParseOutcome ParseOptions(int argc, char** argv, Options* opt) {
  if (argc < 2) {
    PrintHelp(opt);
    return ParseOutcome::kExitUsage;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    PrintHelp(opt);
    return ParseOutcome::kExitOk;
  }
  if (cmd == "fanout") {
    opt->scenario = Scenario::kFanout;
  } else if (cmd == "connect") {
    opt->scenario = Scenario::kConnect;
  } else {
    std::fprintf(stderr, "roomcast-load: unknown scenario '%s' (fanout or connect; see --help)\n",
                 argv[1]);
    return ParseOutcome::kExitUsage;
  }
  // --rate means connects/s for the connect scenario: parse into a scratch double, then route.
  bool rate_given = false;
  std::vector<Flag> flags = FlagTable(opt);
  const unsigned mine = opt->scenario == Scenario::kFanout ? kFan : kConn;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintHelp(opt);
      return ParseOutcome::kExitOk;
    }
    if (arg.substr(0, 2) != "--") {
      std::fprintf(stderr, "roomcast-load: unexpected argument '%s'\n", argv[i]);
      return ParseOutcome::kExitUsage;
    }
    arg.remove_prefix(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags) {
      if (arg == f.name) flag = &f;
    }
    if (!flag) {
      std::fprintf(stderr, "roomcast-load: unknown flag --%.*s (see --help)\n",
                   static_cast<int>(arg.size()), arg.data());
      return ParseOutcome::kExitUsage;
    }
    if (!(flag->applies & mine)) {
      std::fprintf(stderr, "roomcast-load: --%s does not apply to this scenario\n", flag->name);
      return ParseOutcome::kExitUsage;
    }
    if (flag->kind == Kind::kBool) {
      *static_cast<bool*>(flag->target) = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "roomcast-load: --%s needs a value\n", flag->name);
        return ParseOutcome::kExitUsage;
      }
      value = argv[++i];
    }
    if (flag->kind == Kind::kString) {
      *static_cast<std::string*>(flag->target) = value;
      continue;
    }
    if (!SetValue(*flag, value.c_str())) return ParseOutcome::kExitUsage;
    if (flag->target == &opt->rate) rate_given = true;
  }
  if (opt->scenario == Scenario::kConnect) {
    if (rate_given) opt->connect_rate = opt->rate;
    if (opt->connect_rate <= 0) {
      std::fprintf(stderr, "roomcast-load: connect: --rate must be > 0\n");
      return ParseOutcome::kExitUsage;
    }
  }
  if (opt->url.empty()) {
    std::fprintf(stderr, "roomcast-load: --url is required\n");
    return ParseOutcome::kExitUsage;
  }
  std::string why;
  if (!ParseLoopbackUrl(opt->url, &opt->target, &why)) {
    std::fprintf(stderr, "roomcast-load: --url %s: %s\n", opt->url.c_str(), why.c_str());
    return ParseOutcome::kExitUsage;
  }
  if (opt->scenario == Scenario::kFanout) {
    if (opt->viewers + static_cast<uint64_t>(opt->publishers) == 0) {
      std::fprintf(stderr, "roomcast-load: fanout needs at least one viewer or publisher\n");
      return ParseOutcome::kExitUsage;
    }
    if (opt->publishers > 0 && opt->rate <= 0) {
      std::fprintf(stderr, "roomcast-load: fanout: --rate must be > 0 with publishers\n");
      return ParseOutcome::kExitUsage;
    }
  }
  return ParseOutcome::kRun;
}

uint64_t TotalConnections(const Options& opt) {
  if (opt.scenario == Scenario::kConnect) return opt.conns;
  return static_cast<uint64_t>(opt.viewers) + opt.publishers;
}

}  // namespace roomcast::load
