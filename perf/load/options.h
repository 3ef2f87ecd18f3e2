// Command line of roomcast-load: the scenario, its flags with their defaults (one table, so the
// help and the defaults cannot drift apart), and the loopback-only target address.
// Parsed once in the parent process before any worker is forked; read-only afterwards.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace roomcast::load {

enum class Scenario { kNone, kFanout, kConnect, kStorm, kPublish };

// Which server the tool talks to. roomcast: WebSocket /ws?room=R, sends as {"op":"send"} frames
// acked by {"type":"ack"}, deliveries as {"type":"msg"} objects, a welcome frame per join.
// nchan: WebSocket subscriptions on PREFIX/sub/ROOM (each message body arrives as one raw text
// frame, no welcome: the 101 response is the join); publishes per NchanPublish. See
// perf/peers/nchan.sh.
enum class TargetKind { kRoomcast, kNchan };

// How nchan publishers publish (--nchan-publish). ws (the default): a WebSocket upgrade on
// PREFIX/pub/ROOM (nchan_publisher websocket), one message per text frame, nchan answers each with
// one channel-info text frame (the ack). http: HTTP POST PREFIX/pub/ROOM on a keep-alive
// connection, pipelined (a 2xx response is the ack).
enum class NchanPublish { kWs, kHttp };

// How roomcast viewers read their room (publishers always use WebSocket): ws (GET /ws upgrade),
// longpoll (GET /rooms/R/messages again and again with the cursor of the last answer) or sse
// (GET /rooms/R/events, a text/event-stream). See http_viewers.h.
enum class Transport { kWs, kLongPoll, kSse };
[[nodiscard]] const char* TransportName(Transport t);

// Where the server listens. Only loopback hosts are accepted (127.0.0.0/8, localhost, ::1).
struct Target {
  TargetKind kind = TargetKind::kRoomcast;
  bool ipv6 = false;
  in_addr v4{};
  in6_addr v6{};
  uint16_t port = 0;
  std::string host_header;   // "127.0.0.1:8080", sent as Host:
  std::string path = "/ws";  // roomcast: the WebSocket path
  bool path_given = false;   // nchan: the URL's path, when given, prefixes /sub/ and /pub/
  bool deflate = false;      // --deflate: upgrades offer permessage-deflate (roomcast)
};

struct Options {
  Scenario scenario = Scenario::kNone;
  std::string url;                       // the first --url (all of them, comma-joined, in reports)
  std::vector<std::string> urls;         // every --url, in order (fanout: more than one allowed)
  std::string target_name = "roomcast";  // --target, parsed into target.kind
  Target target;                         // urls[0]
  std::vector<Target> targets;        // one per --url; fanout's worker w connects to targets[w % n]
  std::string transport_name = "ws";  // --transport, parsed into transport
  Transport transport = Transport::kWs;
  std::string nchan_publish_name = "ws";  // --nchan-publish, parsed into nchan_publish
  NchanPublish nchan_publish = NchanPublish::kWs;
  // fanout and storm
  uint32_t viewers = 1000;
  uint32_t rooms = 1;
  uint32_t publishers = 1;
  double rate = 100;        // messages per second, all publishers together
  uint32_t size = 100;      // text bytes per message
  bool deflate = false;     // --deflate (copied into target.deflate)
  bool words = false;       // --words: texts padded with chat-like words, not 'x'
  double duration = 10;     // seconds of measured publishing
  double pause_before = 0;  // seconds between the last welcome and the first publish
  double warmup = 0;        // seconds of publishing before the measurement starts
  // connect
  uint32_t conns = 1000;
  double connect_rate = 1000;  // connections started per second
  double hold = 5;             // seconds all connections are held open
  // storm
  double storm_at = 3;        // seconds into the measurement when the storm group disconnects
  double storm_fraction = 0;  // 0: the group is every viewer of rooms 0..R/2-1; else this share
                              // of each room's viewers
  uint32_t storm_inflight = 2048;  // rejoins connecting at once per worker
  bool storm_calm_apart =
      false;  // calm viewers and publishers in worker 0, the storm group in the others
  bool publishers_given = false;
  // publish
  uint32_t window = 64;  // unacked sends allowed per publisher
  // all scenarios
  std::vector<int> server_pids;  // CPU and memory are summed over these (e.g. nginx master+workers)
  uint32_t workers = 0;          // 0: one per ~16000 connections
  uint32_t source_ips = 32;      // 127.0.0.1 .. 127.0.0.K as source addresses
  double straggler_secs = 2;     // fanout: wait this long after publishing for late deliveries
  double connect_timeout = 10;   // seconds a connection may take to get its welcome
  bool json = false;
};

enum class ParseOutcome { kRun, kExitOk, kExitUsage };

// Parses argv into *opt. Prints --help to stdout and errors to stderr.
[[nodiscard]] ParseOutcome ParseOptions(int argc, char** argv, Options* opt);

// Parses a ws:// URL into *t; false (with *why set) for anything but a loopback host.
[[nodiscard]] bool ParseLoopbackUrl(const std::string& url, Target* t, std::string* why);

// The server worker process `worker` connects to: targets[worker % targets.size()] (fanout with
// several --url: viewer v and publisher j go to URL v % n and j % n when the worker count is a
// multiple of n, which ChooseWorkers ensures); opt.target otherwise.
[[nodiscard]] const Target& WorkerTarget(const Options& opt, uint32_t worker);

// Connections every worker process shares out (fanout, storm: viewers + publishers; publish:
// publishers).
[[nodiscard]] uint64_t TotalConnections(const Options& opt);

}  // namespace roomcast::load
