// The flag table of roomcast-load, its --help text and the checks of the parsed options (the
// loopback URL check itself: loopback_url.cc).
#include "options.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "ws_client.h"

namespace roomcast::load {

namespace {

enum class Kind { kU32, kInt, kDouble, kString, kBool, kPids, kUrls };
// Which scenarios a flag applies to (a bit set).
enum Applies : unsigned {
  kFan = 1,
  kConn = 2,
  kStormOnly = 4,
  kPub = 8,
  kFanStorm = kFan | kStormOnly,
  kPublishing = kFan | kStormOnly | kPub,  // every scenario that publishes
  kViewing = kFan | kConn | kStormOnly,    // every scenario with viewers
  kAll = kFan | kConn | kStormOnly | kPub,
};

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
      {"url", Kind::kUrls, &o->urls, 0, 0, kAll,
       "ws://HOST:PORT[/path] (or http://) of the server; HOST must be 127.x.x.x, localhost or "
       "[::1]; fanout (roomcast, ws viewers): repeat it for nodes of one fleet, worker process w "
       "connecting to URL w % n, so viewer v and publisher j go to URL v % n and j % n"},
      {"target", Kind::kString, &o->target_name, 0, 0, kAll,
       "roomcast or nchan (nginx + nchan: WebSocket GET /sub/ROOM, publishers on /pub/ROOM; "
       "a /path in the URL prefixes both); publish: roomcast only"},
      {"nchan-publish", Kind::kString, &o->nchan_publish_name, 0, 0, kFanStorm,
       "--target nchan: how publishers publish: ws (a WebSocket on /pub/ROOM, one message per "
       "text frame, nchan acks each with a channel-info frame) or http (pipelined POST "
       "/pub/ROOM on one keep-alive connection, a 2xx response is the ack)"},
      {"transport", Kind::kString, &o->transport_name, 0, 0, kViewing,
       "how viewers read their room: ws, longpoll (GET /rooms/R/messages with a cursor) or sse "
       "(GET /rooms/R/events); roomcast target; storm takes ws only (publishers stay ws)"},
      {"viewers", Kind::kU32, &o->viewers, 0, 10000000, kFanStorm,
       "viewer connections, spread round robin over the rooms"},
      {"rooms", Kind::kU32, &o->rooms, 1, 1000000, kAll, "rooms named load-0 .. load-{R-1}"},
      {"publishers", Kind::kU32, &o->publishers, 0, 100000, kPublishing,
       "publisher connections (one room each, round robin; roomcast's also receive); "
       "storm: default one per room"},
      {"rate", Kind::kDouble, &o->rate, 0, 1e7, kAll,
       "fanout, storm: messages per second, all publishers together (paced, not bursts); "
       "connect: connections started per second (default there: 1000); publish: sends per "
       "second, all publishers together, each within its --window (default there: 0, as fast "
       "as the window allows)"},
      {"size", Kind::kU32, &o->size, 1, 65536, kPublishing,
       "text bytes per message (at least the stamp prefix, ~40 bytes)"},
      {"duration", Kind::kDouble, &o->duration, 0.1, 86400, kPublishing,
       "seconds of measured publishing"},
      {"warmup", Kind::kDouble, &o->warmup, 0, 3600, kPublishing,
       "seconds of publishing before the measurement starts (not counted)"},
      {"pause-before", Kind::kDouble, &o->pause_before, 0, 3600, kPublishing,
       "seconds to wait after every connection got its welcome before the first publish; the "
       "line 'roomcast-load: all joined' on stderr marks its start (perf/explosion.py starts "
       "its calm lane there)"},
      {"window", Kind::kU32, &o->window, 1, 65536, kPub,
       "most sends a publisher has unacknowledged at once (further sends wait for acks)"},
      {"storm-at", Kind::kDouble, &o->storm_at, 0, 86400, kStormOnly,
       "seconds into the measurement when the storm group disconnects and reconnects at once "
       "(must be below --duration)"},
      {"storm-fraction", Kind::kDouble, &o->storm_fraction, 0, 1, kStormOnly,
       "storm group: this share of every room's viewers (0: every viewer of rooms 0..R/2-1)"},
      {"storm-inflight", Kind::kU32, &o->storm_inflight, 1, 1000000, kStormOnly,
       "rejoins connecting at once per worker (the rest start as these resolve); 2048 stays "
       "within a 4096 accept backlog"},
      {"storm-calm-apart", Kind::kBool, &o->storm_calm_apart, 0, 0, kStormOnly,
       "calm viewers and publishers all in worker process 0 and the storm group in the others, so "
       "that calm latency is not the load generator's own reconnect work (needs 2+ workers)"},
      {"conns", Kind::kU32, &o->conns, 1, 10000000, kConn, "idle viewer connections to open"},
      {"hold", Kind::kDouble, &o->hold, 0, 86400, kConn,
       "seconds to hold all connections open before closing them"},
      {"server-pid", Kind::kPids, &o->server_pids, 1, 1 << 30, kAll,
       "server process id(s): report their summed CPU (/proc/PID/stat) and memory "
       "(/proc/PID/status); repeat the flag or give a comma list (nginx: master and workers)"},
      {"workers", Kind::kU32, &o->workers, 0, 64, kAll,
       "worker processes sharing the connections (0: one per 16000 connections)"},
      {"source-ips", Kind::kU32, &o->source_ips, 1, 254, kAll,
       "spread source addresses over 127.0.0.1 .. 127.0.0.K (IPv4 targets only)"},
      {"straggler-secs", Kind::kDouble, &o->straggler_secs, 0, 60, kPublishing,
       "after publishing, wait at most this long for late deliveries (publish: late acks)"},
      {"connect-timeout", Kind::kDouble, &o->connect_timeout, 0.1, 600, kAll,
       "seconds a connection may take from connect() to its welcome frame (nchan: its 101)"},
      {"deflate", Kind::kBool, &o->deflate, 0, 0, kAll,
       "roomcast: every WebSocket offers permessage-deflate and inflates the compressed (RSV1) "
       "frames it receives (zlib; the inflating is counted in this tool's CPU)"},
      {"words", Kind::kBool, &o->words, 0, 0, kAll,
       "pad message texts with chat-like words (compress like chat) instead of 'x' (compress "
       "to almost nothing)"},
      {"json", Kind::kBool, &o->json, 0, 0, kAll, "also print the results as one JSON line"},
  };
}

// "fanout, storm: " for a flag of some scenarios only; "" for a flag of all.
std::string AppliesPrefix(unsigned applies) {
  if (applies == kAll) return "";
  static constexpr struct {
    unsigned bit;
    const char* name;
  } kNames[] = {{kFan, "fanout"}, {kConn, "connect"}, {kStormOnly, "storm"}, {kPub, "publish"}};
  std::string out;
  for (const auto& n : kNames) {
    if (!(applies & n.bit)) continue;
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out.empty() ? out : out + ": ";
}

void PrintHelp(Options* o) {
  std::printf(
      "roomcast-load: load generator for roomcast (loopback only)\n\n"
      "usage:\n"
      "  roomcast-load fanout  --url ws://127.0.0.1:PORT --viewers V --rooms R --publishers P\n"
      "                        --rate M --size B --duration S [--warmup S] [--server-pid PID] "
      "[--json]\n"
      "  roomcast-load connect --url ws://127.0.0.1:PORT --conns N --rate C --hold S --rooms R\n"
      "                        [--server-pid PID] [--json]\n"
      "  roomcast-load storm   --url ws://127.0.0.1:PORT --viewers V --rooms R --rate M --size B\n"
      "                        [--publishers P] [--storm-at S] [--storm-fraction F] [--duration "
      "S]\n"
      "                        [--server-pid PID] [--json]\n"
      "  roomcast-load publish --url ws://127.0.0.1:PORT --publishers P --rooms R [--rate N]\n"
      "                        [--window W] [--size B] [--duration S] [--warmup S]\n"
      "                        [--server-pid PID] [--json]\n"
      "  fanout, connect and storm with --target nchan for nginx + nchan (perf/peers/nchan.sh)\n"
      "  fanout and connect with --transport longpoll|sse for HTTP viewers (roomcast only)\n\n"
      "fanout:  V viewers and P publishers join rooms load-*; once every one has its welcome the\n"
      "         publishers send M msg/s in total for S seconds, each text stamped\n"
      "         \"t=<ns> p=<pub> n=<counter> \" and padded to B bytes; every viewer checks\n"
      "         order, loss and latency. See perf/README.md for the meaning of each figure.\n"
      "connect: opens N idle viewers at C per second, holds them S seconds, reports the\n"
      "         server's memory per connection, then closes them.\n"
      "storm:   fanout with a reconnect storm: at --storm-at every viewer of the storm group\n"
      "         disconnects at once and reconnects at once; reports the time until all are\n"
      "         welcomed again, and the latency (before/during the storm) and loss of the\n"
      "         undisturbed (calm) connections.\n"
      "publish: P publishers (no viewers) send as fast as --window W unacked sends each allows,\n"
      "         or N sends/s in total with --rate; reports acks/s, errors, unacked sends and\n"
      "         the send-to-ack latency of every measured send (roomcast only).\n\n"
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
      case Kind::kPids:
      case Kind::kUrls:
        def = "none";
        break;
    }
    std::printf("  --%-16s %s%s [%s]\n", f.name, AppliesPrefix(f.applies).c_str(), f.help,
                def.c_str());
  }
  std::printf("  --%-16s this text\n", "help");
  (void)o;
}

// "PID[,PID...]" appended to the list; every pid a positive whole number.
bool AppendPids(const Flag& f, const std::string& text) {
  auto* pids = static_cast<std::vector<int>*>(f.target);
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string one = text.substr(start, comma == std::string::npos ? comma : comma - start);
    char* end = nullptr;
    const long v = std::strtol(one.c_str(), &end, 10);
    if (one.empty() || *end != '\0' || v < f.min || v > f.max) {
      std::fprintf(stderr, "roomcast-load: --%s wants PID[,PID...], got '%s'\n", f.name,
                   text.c_str());
      return false;
    }
    pids->push_back(static_cast<int>(v));
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
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

// argv[1]: --help, or the scenario, whose bit in Applies is stored in *mine. kRun to go on.
ParseOutcome ParseScenario(int argc, char** argv, Options* opt, unsigned* mine) {
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
    *mine = kFan;
  } else if (cmd == "connect") {
    opt->scenario = Scenario::kConnect;
    *mine = kConn;
  } else if (cmd == "storm") {
    opt->scenario = Scenario::kStorm;
    *mine = kStormOnly;
  } else if (cmd == "publish") {
    opt->scenario = Scenario::kPublish;
    *mine = kPub;
  } else {
    std::fprintf(
        stderr,
        "roomcast-load: unknown scenario '%s' (fanout, connect, storm or publish; see --help)\n",
        argv[1]);
    return ParseOutcome::kExitUsage;
  }
  return ParseOutcome::kRun;
}

// Reads the flag at argv[*i] into its target, and its value, which is either written as
// --name=value or is the next argument (then *i moves past it). A flag must apply to the
// scenario (`mine`). Notes in *rate_given whether --rate was given, for ApplyScenarioDefaults.
// kRun to go on; kExitOk and kExitUsage end parsing, the message already printed.
ParseOutcome ParseFlag(const std::vector<Flag>& flags, unsigned mine, int argc, char** argv, int* i,
                       Options* opt, bool* rate_given) {
  std::string_view arg = argv[*i];
  if (arg == "--help" || arg == "-h") {
    PrintHelp(opt);
    return ParseOutcome::kExitOk;
  }
  if (arg.substr(0, 2) != "--") {
    std::fprintf(stderr, "roomcast-load: unexpected argument '%s'\n", argv[*i]);
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
    *static_cast<bool*>(flag->target) = true;  // a boolean flag takes no value
    return ParseOutcome::kRun;
  }
  if (!has_value) {
    if (*i + 1 >= argc) {
      std::fprintf(stderr, "roomcast-load: --%s needs a value\n", flag->name);
      return ParseOutcome::kExitUsage;
    }
    value = argv[++*i];
  }
  if (flag->kind == Kind::kString) {
    *static_cast<std::string*>(flag->target) = value;
    return ParseOutcome::kRun;
  }
  if (flag->kind == Kind::kUrls) {
    static_cast<std::vector<std::string>*>(flag->target)->push_back(value);
    return ParseOutcome::kRun;
  }
  if (flag->kind == Kind::kPids) {
    return AppendPids(*flag, value) ? ParseOutcome::kRun : ParseOutcome::kExitUsage;
  }
  if (!SetValue(*flag, value.c_str())) return ParseOutcome::kExitUsage;
  if (flag->target == &opt->rate) *rate_given = true;
  if (flag->target == &opt->publishers) opt->publishers_given = true;
  return ParseOutcome::kRun;
}

// --url, --target and --transport from their text into Options::target and ::transport, and the
// transport's limits (HTTP viewers are roomcast's; the storm's rejoins are WebSocket joins).
// False after printing the problem.
bool ResolveTarget(Options* opt) {
  if (opt->urls.empty()) {
    std::fprintf(stderr, "roomcast-load: --url is required\n");
    return false;
  }
  TargetKind kind = TargetKind::kRoomcast;
  if (opt->target_name == "nchan") {
    kind = TargetKind::kNchan;
  } else if (opt->target_name != "roomcast") {
    std::fprintf(stderr, "roomcast-load: --target wants roomcast or nchan, got '%s'\n",
                 opt->target_name.c_str());
    return false;
  }
  for (const std::string& url : opt->urls) {
    Target t;
    std::string why;
    if (!ParseLoopbackUrl(url, &t, &why)) {
      std::fprintf(stderr, "roomcast-load: --url %s: %s\n", url.c_str(), why.c_str());
      return false;
    }
    t.deflate = opt->deflate;
    t.kind = kind;
    opt->targets.push_back(t);
  }
  opt->target = opt->targets[0];
  opt->url = opt->urls[0];
  SetStampPadding(opt->words);
  if (opt->nchan_publish_name == "ws") {
    opt->nchan_publish = NchanPublish::kWs;
  } else if (opt->nchan_publish_name == "http") {
    opt->nchan_publish = NchanPublish::kHttp;
  } else {
    std::fprintf(stderr, "roomcast-load: --nchan-publish wants ws or http, got '%s'\n",
                 opt->nchan_publish_name.c_str());
    return false;
  }
  if (opt->transport_name == "ws") {
    opt->transport = Transport::kWs;
  } else if (opt->transport_name == "longpoll") {
    opt->transport = Transport::kLongPoll;
  } else if (opt->transport_name == "sse") {
    opt->transport = Transport::kSse;
  } else {
    std::fprintf(stderr, "roomcast-load: --transport wants ws, longpoll or sse, got '%s'\n",
                 opt->transport_name.c_str());
    return false;
  }
  if (opt->urls.size() > 1 && (opt->scenario != Scenario::kFanout ||
                               kind != TargetKind::kRoomcast || opt->transport != Transport::kWs)) {
    std::fprintf(stderr,
                 "roomcast-load: several --url are for fanout with --target roomcast and "
                 "--transport ws only\n");
    return false;
  }
  if (opt->transport != Transport::kWs) {
    if (opt->target.kind != TargetKind::kRoomcast) {
      std::fprintf(stderr, "roomcast-load: --transport %s is for --target roomcast only\n",
                   opt->transport_name.c_str());
      return false;
    }
    if (opt->scenario == Scenario::kStorm) {
      std::fprintf(stderr,
                   "roomcast-load: storm supports --transport ws only (its rejoins are WebSocket "
                   "joins); use fanout or connect for %s viewers\n",
                   opt->transport_name.c_str());
      return false;
    }
  }
  return true;
}

// publish: roomcast only, unpaced unless --rate was given, at least one publisher.
bool CheckPublish(Options* opt, bool rate_given) {
  if (opt->target.kind != TargetKind::kRoomcast) {
    std::fprintf(stderr,
                 "roomcast-load: publish measures roomcast's acks only; --target %s is not "
                 "supported\n",
                 opt->target_name.c_str());
    return false;
  }
  if (!rate_given) opt->rate = 0;  // as fast as the window allows
  if (opt->publishers == 0) {
    std::fprintf(stderr, "roomcast-load: publish needs --publishers 1 or more\n");
    return false;
  }
  return true;
}

// storm: one publisher per room by default; the storm must fall inside the measured window and
// leave some viewers undisturbed to measure.
bool CheckStorm(Options* opt) {
  if (!opt->publishers_given) opt->publishers = opt->rooms;  // one per room
  if (opt->storm_at >= opt->duration) {
    std::fprintf(stderr, "roomcast-load: storm: --storm-at (%g) must be below --duration (%g)\n",
                 opt->storm_at, opt->duration);
    return false;
  }
  if (opt->storm_fraction == 0 && opt->rooms < 2) {
    std::fprintf(stderr,
                 "roomcast-load: storm: with one room there is no undisturbed room; give "
                 "--rooms 2 or more, or --storm-fraction F\n");
    return false;
  }
  if (opt->viewers == 0) {
    std::fprintf(stderr, "roomcast-load: storm needs viewers\n");
    return false;
  }
  return true;
}

// fanout and storm: someone to connect, and a rate whenever someone publishes.
bool CheckFanout(const Options& opt) {
  if (opt.viewers + static_cast<uint64_t>(opt.publishers) == 0) {
    std::fprintf(stderr, "roomcast-load: fanout needs at least one viewer or publisher\n");
    return false;
  }
  if (opt.publishers > 0 && opt.rate <= 0) {
    std::fprintf(stderr, "roomcast-load: fanout: --rate must be > 0 with publishers\n");
    return false;
  }
  return true;
}

}  // namespace

ParseOutcome ParseOptions(int argc, char** argv, Options* opt) {
  unsigned mine = 0;
  if (ParseOutcome o = ParseScenario(argc, argv, opt, &mine); o != ParseOutcome::kRun) return o;
  // --rate means connects/s for the connect scenario: parse into a scratch double, then route.
  bool rate_given = false;
  std::vector<Flag> flags = FlagTable(opt);
  for (int i = 2; i < argc; ++i) {
    if (ParseOutcome o = ParseFlag(flags, mine, argc, argv, &i, opt, &rate_given);
        o != ParseOutcome::kRun) {
      return o;
    }
  }
  if (opt->scenario == Scenario::kConnect) {
    if (rate_given) opt->connect_rate = opt->rate;
    if (opt->connect_rate <= 0) {
      std::fprintf(stderr, "roomcast-load: connect: --rate must be > 0\n");
      return ParseOutcome::kExitUsage;
    }
  }
  if (!ResolveTarget(opt)) return ParseOutcome::kExitUsage;
  if (opt->scenario == Scenario::kPublish && !CheckPublish(opt, rate_given)) {
    return ParseOutcome::kExitUsage;
  }
  if (opt->scenario == Scenario::kStorm && !CheckStorm(opt)) return ParseOutcome::kExitUsage;
  if ((opt->scenario == Scenario::kFanout || opt->scenario == Scenario::kStorm) &&
      !CheckFanout(*opt)) {
    return ParseOutcome::kExitUsage;
  }
  return ParseOutcome::kRun;
}

const char* TransportName(Transport t) {
  switch (t) {
    case Transport::kWs:
      return "ws";
    case Transport::kLongPoll:
      return "longpoll";
    case Transport::kSse:
      return "sse";
  }
  return "?";
}

const Target& WorkerTarget(const Options& opt, uint32_t worker) {
  if (opt.targets.size() < 2) return opt.target;
  return opt.targets[worker % opt.targets.size()];
}

uint64_t TotalConnections(const Options& opt) {
  if (opt.scenario == Scenario::kConnect) return opt.conns;
  if (opt.scenario == Scenario::kPublish) return opt.publishers;
  return static_cast<uint64_t>(opt.viewers) + opt.publishers;
}

}  // namespace roomcast::load
