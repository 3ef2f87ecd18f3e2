// The fanout scenario's parent: join barrier, schedule, measurement window, straggler wait,
// merge and report. The storm scenario is the same run with a StormWatch (scenario_storm.cc).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fanout_results.h"
#include "fanout_worker.h"
#include "proc_stats.h"
#include "report.h"
#include "scenarios.h"
#include "storm_watch.h"

namespace roomcast::load {

namespace {

constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kMaxPollGraceNs = 20 * kSec;  // within the hard deadline's 30 s margin

// What the parent measured around the run: the instants of its phases and the /proc and rusage
// readings taken at them, for the report.
struct FanoutRun {
  uint32_t workers = 0;
  uint64_t t0 = 0;
  uint64_t joined = 0;
  uint64_t window_start = 0;
  uint64_t window_end = 0;
  double server_cpu0 = -1;
  double server_cpu1 = -1;
  double self_cpu0 = 0;
  double self_cpu1 = 0;
  double children_cpu = 0;
  long long rss_start = -1;
  long long rss_end = -1;
  long long pss_end = -1;
  bool ok = false;
  bool done = false;
  uint32_t clean = 0;

  [[nodiscard]] bool Complete() const { return ok && done && clean == workers; }
};

// The publishing window: sleeps until publish_end while watching the workers (and, in a storm,
// checking its progress every millisecond). False when a worker failed.
bool WatchPublishing(SharedState& shared, WorkerPool& pool, StormWatch* storm,
                     uint64_t publish_end) {
  bool ok = true;
  while (ok && NowNs() < publish_end) {
    if (storm) storm->Check(shared);
    ok = SleepWatching(pool, std::min(NowNs() + (storm ? 1000000 : 100000000), publish_end));
  }
  return ok;
}

// Stragglers: stop once every acked message reached every calm member (and the storm is over),
// or after the grace time. Long-poll viewers may have been told to wait timeoutMs before their
// next poll: the grace grows by the longest such wait (at most kMaxPollGraceNs). False when a
// worker failed.
bool WaitForStragglers(const Options& opt, SharedState& shared, WorkerPool& pool, StormWatch* storm,
                       uint64_t hard) {
  const Control& ctl = shared.Ctl();
  const uint64_t poll_grace = std::min(MaxPollWaitMs(shared) * 1000000, kMaxPollGraceNs);
  const uint64_t grace_end =
      std::min(ctl.publish_end_ns + static_cast<uint64_t>(opt.straggler_secs * kSec) + poll_grace,
               hard - kSec);
  bool ok = true;
  while (ok && NowNs() < grace_end) {
    if (storm) storm->Check(shared);
    if (AllAtStage(shared, Stage::kPublished) &&
        ReceivedSoFar(shared) >= ExpectedDeliveries(shared) && (!storm || storm->Settled()))
      break;
    ok = SleepWatching(pool, std::min(NowNs() + 1000000, grace_end));
  }
  return ok;
}

// From the go command to the workers' exit: the measured window (server and own CPU read at its
// edges), the straggler wait, then the finish command and the workers' reports.
void MeasureAndFinish(const Options& opt, SharedState& shared, WorkerPool& pool, StormWatch* storm,
                      uint64_t hard, FanoutRun* run) {
  const std::vector<int>& server = opt.server_pids;
  Control& ctl = shared.Ctl();
  if (run->ok) run->ok = SleepWatching(pool, ctl.measure_start_ns);
  run->server_cpu0 = ProcessesCpuSeconds(server);
  run->self_cpu0 = RusageCpuSeconds(RUSAGE_SELF);
  run->window_start = NowNs();
  if (run->ok) {
    run->ok = WatchPublishing(shared, pool, storm, std::min(ctl.publish_end_ns, hard - kSec));
  }
  if (run->ok) run->ok = WaitForStragglers(opt, shared, pool, storm, hard);
  run->window_end = NowNs();
  run->server_cpu1 = ProcessesCpuSeconds(server);
  run->self_cpu1 = RusageCpuSeconds(RUSAGE_SELF);
  run->rss_end = ProcessesRssBytes(server);
  run->pss_end = ProcessesPssBytes(server);
  ctl.command.store(static_cast<uint32_t>(Command::kFinish), std::memory_order_release);
  run->done = WaitForStage(shared, pool, Stage::kDone, hard, false);
  run->clean = pool.WaitAll(hard);
  run->children_cpu = RusageCpuSeconds(RUSAGE_CHILDREN);
}

void AddSetupRows(Report& r, const Options& opt, uint32_t workers) {
  r.Section("setup");
  std::string urls;
  for (const std::string& u : opt.urls) urls += (urls.empty() ? "" : ",") + u;
  r.Text("url", "url", urls);
  r.Text("target", "target", opt.target_name);
  r.Text("transport", "viewer transport", TransportName(opt.transport));
  r.Int("viewers", "viewers", opt.viewers);
  r.Int("publishers",
        opt.target.kind == TargetKind::kNchan ? "publishers (nchan: see publish_path)"
                                              : "publishers (also receive)",
        opt.publishers);
  std::string path = "WebSocket {\"op\":\"send\"} frames, acked by {\"type\":\"ack\"}";
  if (opt.target.kind == TargetKind::kNchan) {
    path = opt.nchan_publish == NchanPublish::kWs
               ? "nchan WebSocket publisher (/pub/ROOM text frames, channel-info frame per ack)"
               : "nchan HTTP POST /pub/ROOM, pipelined on one keep-alive connection (2xx = ack)";
  }
  r.Text("publish_path", "publish path", path);
  r.Int("rooms", "rooms", opt.rooms);
  r.Num("rate_target", "target rate", opt.rate, "msg/s", 1);
  r.Int("size", "text size", opt.size, "bytes");
  r.Num("duration_s", "measured duration", opt.duration, "s", 1);
  r.Num("warmup_s", "warmup", opt.warmup, "s", 1);
  r.Int("workers", "client worker processes", workers);
}

void AddPublishingRows(Report& r, const Options& opt, const Merged& m) {
  r.Section("publishing (measured window)");
  r.Int("sent", "messages sent", static_cast<long long>(m.t.sent));
  r.Int("acked", "messages acked", static_cast<long long>(m.t.acked));
  r.Int("unacked", "never acked (incl. warmup)", static_cast<long long>(m.t.unacked));
  r.Num("send_rate", "achieved send rate", m.t.sent / opt.duration, "msg/s", 1);
  r.Int("late_sends", "sends >5 ms behind schedule", static_cast<long long>(m.t.late_sends));
  r.Int("skipped_sends", "sends skipped (publisher gone)",
        static_cast<long long>(m.t.skipped_sends));
  r.Int("warmup_sent", "warmup messages sent", static_cast<long long>(m.t.warmup_sent));
}

// Loss viewer by viewer, against what was offered (every measured message sent, acked or not):
// a server carried the load when every viewer got every message.
void AddViewerLossRows(Report& r, SharedState& shared, const Merged& m) {
  const ViewerLoss& v = m.t.viewer_loss;
  const uint64_t offered = OfferedDeliveries(shared);
  const uint64_t unique = m.t.received - m.t.duplicates;
  r.Int("offered", "offered deliveries (sent x members)", static_cast<long long>(offered));
  r.Int("delivered_unique", "delivered (unique)", static_cast<long long>(unique));
  r.Num("delivered_pct", "delivered of offered", offered ? 100.0 * unique / offered : 0, "%", 2);
  r.Int("viewers_checked", "viewers checked one by one", static_cast<long long>(v.viewers));
  r.Int("viewers_with_holes", "viewers missing a message", static_cast<long long>(v.with_holes));
  r.Int("viewer_holes", "messages missing, summed over viewers", static_cast<long long>(v.holes));
  r.Int("viewer_max_holes", "most missing at one viewer", static_cast<long long>(v.max_holes));
  r.Int("viewers_with_dups", "viewers with a duplicate", static_cast<long long>(v.with_duplicates));
  r.Int("viewer_dups", "duplicates, summed over viewers", static_cast<long long>(v.duplicates));
}

// Loss, duplicates and order as the calm connections saw them, against what the server owes.
void AddDeliveryRows(Report& r, const Options& opt, SharedState& shared, const Merged& m,
                     const FanoutRun& run, bool storm) {
  const uint64_t expected = ExpectedDeliveries(shared);
  const uint64_t unique = m.t.received - m.t.duplicates;
  const uint64_t members = CalmMembers(shared);
  r.Section(storm ? "delivery to calm connections (outside the storm)" : "delivery");
  if (storm) {
    r.Int("calm_conns", "calm connections at go", static_cast<long long>(m.t.calm_conns));
  }
  r.Int("members", "receiving connections at go", static_cast<long long>(members));
  r.Int("expected", "expected deliveries", static_cast<long long>(expected));
  r.Int("received", "received", static_cast<long long>(m.t.received));
  r.Int("lost", "lost (expected - unique received)",
        expected > unique ? static_cast<long long>(expected - unique) : 0);
  r.Int("gap_lost", "counter gaps seen by viewers", static_cast<long long>(m.t.gap_lost));
  r.Int("duplicates", "duplicates", static_cast<long long>(m.t.duplicates));
  AddViewerLossRows(r, shared, m);
  r.Int("extra", "unique beyond expected",
        unique > expected ? static_cast<long long>(unique - expected) : 0);
  r.Int("foreign", "foreign/misrouted msg frames", static_cast<long long>(m.t.foreign));
  r.Int("gap_notices", "server gap notices", static_cast<long long>(m.t.gap_frames));
  r.Int("error_frames", "server error replies", static_cast<long long>(m.t.error_frames));
  if (storm) {
    r.Int("other_received", "received by storm-group/other connections",
          static_cast<long long>(m.t.other_received));
  }
  const uint64_t all_received = m.t.received + m.t.other_received;
  r.Num("deliveries_per_s", "deliveries/s (all connections)", all_received / opt.duration, "/s", 0);
  const uint64_t publish_end = shared.Ctl().publish_end_ns;
  r.Num("straggler_s", "waited after publishing",
        static_cast<double>(run.window_end - std::min(run.window_end, publish_end)) / 1e9, "s", 3);
  AddHttpViewerRows(r, opt.transport, m.t.http, m.t.http_window, opt.duration);
}

// CPU of both sides over the window (the workers' own window figure plus the parent's), server
// memory, and the client's receive statistics.
void AddCostRows(Report& r, const Options& opt, const Merged& m, const FanoutRun& run) {
  const std::vector<int>& server = opt.server_pids;
  const double window_s = static_cast<double>(run.window_end - run.window_start) / 1e9;
  const uint64_t all_received = m.t.received + m.t.other_received;
  const double server_cpu0 = run.server_cpu0, server_cpu1 = run.server_cpu1;
  r.Section("cost");
  r.Num("window_s", "CPU window (measure start..end)", window_s, "s", 2);
  r.Num("client_cpu_s", "client CPU in window", m.t.cpu_window_s + (run.self_cpu1 - run.self_cpu0),
        "s", 3);
  r.Num("client_cpu_pct", "client CPU in window",
        100 * (m.t.cpu_window_s + run.self_cpu1 - run.self_cpu0) / window_s, "% of a core", 1);
  r.Num("client_cpu_total_s", "client CPU whole run (self+workers)",
        RusageCpuSeconds(RUSAGE_SELF) + run.children_cpu, "s", 3);
  if (server_cpu0 >= 0 && server_cpu1 >= 0) {
    r.Num("server_cpu_s", "server CPU in window", server_cpu1 - server_cpu0, "s", 3);
    r.Num("server_cpu_pct", "server CPU in window", 100 * (server_cpu1 - server_cpu0) / window_s,
          "% of a core", 1);
    if (all_received) {
      r.Num("server_ns_per_delivery", "server CPU per delivery",
            (server_cpu1 - server_cpu0) * 1e9 / all_received, "ns", 0);
    }
    if (server_cpu1 - server_cpu0 > 0) {
      r.Num("deliveries_per_server_cpu_s", "deliveries per server CPU-second",
            all_received / (server_cpu1 - server_cpu0), "/s", 0);
    }
  } else {
    r.Missing("server_cpu_s", "server CPU in window (--server-pid)");
  }
  if (server.size() > 1) {
    r.Int("server_pids", "server processes summed", static_cast<long long>(server.size()));
  }
  if (run.rss_end >= 0) {
    r.Num("server_rss_start_mb", "server RSS at start", run.rss_start / 1048576.0, "MiB", 1);
    r.Num("server_rss_end_mb", "server RSS at end", run.rss_end / 1048576.0, "MiB", 1);
    if (run.pss_end >= 0) {
      r.Num("server_pss_end_mb", "server PSS at end", run.pss_end / 1048576.0, "MiB", 1);
    }
  } else {
    r.Missing("server_rss_end_mb", "server RSS (--server-pid)");
  }
  r.Int("recv_completions", "client receive completions",
        static_cast<long long>(m.t.client.recv_completions));
  r.Num("frames_per_recv", "frames per receive",
        m.t.client.recv_completions ? double(m.t.client.frames) / m.t.client.recv_completions : 0,
        "", 1);
  r.Int("enobufs", "receive buffer ring ran dry", static_cast<long long>(m.t.client.enobufs));
  r.Int("pings_answered", "server pings answered",
        static_cast<long long>(m.t.client.pings_answered));
}

// The report: the human table, then (--json) the same figures as one JSON line.
void PrintFanoutReport(const Options& opt, SharedState& shared, const FanoutRun& run,
                       StormWatch* storm) {
  const Merged m = MergeSlots(shared);
  Report r(storm ? "storm" : "fanout");
  AddSetupRows(r, opt, run.workers);
  r.Section("connections");
  AddJoinRows(r, m, static_cast<double>(run.joined - run.t0) / 1e9);
  if (storm) storm->AddStormRows(r, m);
  AddPublishingRows(r, opt, m);
  AddDeliveryRows(r, opt, shared, m, run, storm != nullptr);
  r.Section("latency (send stamp to receipt)");
  AddLatency(r, "latency", m.latency);
  if (storm) storm->AddLatencyRows(r, m);
  AddCostRows(r, opt, m, run);
  r.Text("complete", "run complete", run.Complete() ? "yes" : "no");
  r.PrintTable();
  if (opt.json) r.PrintJsonLine();
}

}  // namespace

int RunFanout(const Options& opt) { return RunFanoutScenario(opt, nullptr); }

int RunFanoutScenario(const Options& opt, StormWatch* storm) {
  FanoutRun run;
  run.workers = ChooseWorkers(opt);
  if (run.workers == 0) return 1;
  const uint32_t workers = run.workers;
  run.t0 = NowNs();
  // Joining takes time too: on 2 shared cores 100,000 viewers have needed up to 35 s.
  const double join_allowance = opt.connect_timeout + opt.viewers / 2000.0;
  const uint64_t hard =
      run.t0 + static_cast<uint64_t>(
                   (opt.pause_before + opt.warmup + opt.duration + 30 + join_allowance) * kSec);
  run.rss_start = ProcessesRssBytes(opt.server_pids);

  SharedState shared(workers, opt.rooms);
  WorkerPool pool;
  // Workers stop a second before the parent's deadline so that their results still arrive.
  if (!pool.Start(workers,
                  [&](uint32_t w) { return RunFanoutWorker(opt, &shared, w, hard - kSec); })) {
    return 1;
  }
  Control& ctl = shared.Ctl();
  run.ok = JoinAndSchedule(shared, pool, workers, opt, hard - kSec, "connection");
  run.joined = NowNs();
  if (storm && run.ok) storm->Schedule(ctl, ctl.measure_start_ns);
  ctl.command.store(static_cast<uint32_t>(Command::kGo), std::memory_order_release);
  MeasureAndFinish(opt, shared, pool, storm, hard, &run);
  PrintFanoutReport(opt, shared, run, storm);
  return run.Complete() ? 0 : 1;
}

}  // namespace roomcast::load
