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

}  // namespace

int RunFanout(const Options& opt) { return RunFanoutScenario(opt, nullptr); }

int RunFanoutScenario(const Options& opt, StormWatch* storm) {
  const uint32_t workers = ChooseWorkers(opt);
  if (workers == 0) return 1;
  const uint64_t t0 = NowNs();
  // Joining takes time too: on 2 shared cores 100,000 viewers have needed up to 35 s.
  const double join_allowance = opt.connect_timeout + opt.viewers / 2000.0;
  const uint64_t hard =
      t0 + static_cast<uint64_t>((opt.warmup + opt.duration + 30 + join_allowance) * kSec);
  const std::vector<int>& server = opt.server_pids;
  const long long rss_start = ProcessesRssBytes(server);

  SharedState shared(workers, opt.rooms);
  WorkerPool pool;
  // Workers stop a second before the parent's deadline so that their results still arrive.
  if (!pool.Start(workers,
                  [&](uint32_t w) { return RunFanoutWorker(opt, &shared, w, hard - kSec); })) {
    return 1;
  }
  Control& ctl = shared.Ctl();
  bool ok = JoinAndSchedule(shared, pool, workers, opt, hard - kSec, "connection");
  const uint64_t joined = NowNs();
  if (storm && ok) storm->Schedule(ctl, ctl.measure_start_ns);
  ctl.command.store(static_cast<uint32_t>(Command::kGo), std::memory_order_release);

  double server_cpu0 = -1, self_cpu0 = 0;
  if (ok) ok = SleepWatching(pool, ctl.measure_start_ns);
  server_cpu0 = ProcessesCpuSeconds(server);
  self_cpu0 = RusageCpuSeconds(RUSAGE_SELF);
  const uint64_t window_start = NowNs();
  const uint64_t publish_end = std::min(ctl.publish_end_ns, hard - kSec);
  while (ok && NowNs() < publish_end) {
    if (storm) storm->Check(shared);
    ok = SleepWatching(pool, std::min(NowNs() + (storm ? 1000000 : 100000000), publish_end));
  }
  // Stragglers: stop once every acked message reached every calm member (and the storm is over),
  // or after the grace time. Long-poll viewers may have been told to wait timeoutMs before their
  // next poll: the grace grows by the longest such wait (at most kMaxPollGraceNs).
  const uint64_t poll_grace = std::min(MaxPollWaitMs(shared) * 1000000, kMaxPollGraceNs);
  const uint64_t grace_end =
      std::min(ctl.publish_end_ns + static_cast<uint64_t>(opt.straggler_secs * kSec) + poll_grace,
               hard - kSec);
  while (ok && NowNs() < grace_end) {
    if (storm) storm->Check(shared);
    if (AllAtStage(shared, Stage::kPublished) &&
        ReceivedSoFar(shared) >= ExpectedDeliveries(shared) && (!storm || storm->Settled()))
      break;
    ok = SleepWatching(pool, std::min(NowNs() + 1000000, grace_end));
  }
  const uint64_t window_end = NowNs();
  const double server_cpu1 = ProcessesCpuSeconds(server);
  const double self_cpu1 = RusageCpuSeconds(RUSAGE_SELF);
  const long long rss_end = ProcessesRssBytes(server);
  ctl.command.store(static_cast<uint32_t>(Command::kFinish), std::memory_order_release);
  const bool done = WaitForStage(shared, pool, Stage::kDone, hard, false);
  const uint32_t clean = pool.WaitAll(hard);
  const double children_cpu = RusageCpuSeconds(RUSAGE_CHILDREN);

  const Merged m = MergeSlots(shared);
  const uint64_t expected = ExpectedDeliveries(shared);
  const uint64_t unique = m.t.received - m.t.duplicates;
  const double window_s = static_cast<double>(window_end - window_start) / 1e9;
  const uint64_t members = CalmMembers(shared);

  Report r(storm ? "storm" : "fanout");
  r.Section("setup");
  r.Text("url", "url", opt.url);
  r.Text("target", "target", opt.target_name);
  r.Text("transport", "viewer transport", TransportName(opt.transport));
  r.Int("viewers", "viewers", opt.viewers);
  r.Int("publishers",
        opt.target.kind == TargetKind::kNchan ? "publishers (HTTP POST)"
                                              : "publishers (also receive)",
        opt.publishers);
  r.Int("rooms", "rooms", opt.rooms);
  r.Num("rate_target", "target rate", opt.rate, "msg/s", 1);
  r.Int("size", "text size", opt.size, "bytes");
  r.Num("duration_s", "measured duration", opt.duration, "s", 1);
  r.Num("warmup_s", "warmup", opt.warmup, "s", 1);
  r.Int("workers", "client worker processes", workers);
  r.Section("connections");
  r.Int("welcomed", "welcomed", static_cast<long long>(m.welcomed));
  r.Int("failed", "failed before welcome",
        static_cast<long long>(m.failed - m.t.closed_after_welcome));
  for (int i = 0; i < kFailStages; ++i) {
    if (!m.t.failed_by_stage[i]) continue;
    const std::string name = FailStageName(static_cast<FailStage>(i));
    r.Int("failed_" + name, "  of which at " + name,
          static_cast<long long>(m.t.failed_by_stage[i]));
  }
  r.Int("closed_during_run", "closed after welcome",
        static_cast<long long>(m.t.closed_after_welcome));
  r.Num("join_s", "time to join all", static_cast<double>(joined - t0) / 1e9, "s", 2);
  r.Num("connect_p50_ms", "connect to welcome p50", m.connect_time.ValueAt(0.5) * 1e-6, "ms", 2);
  r.Num("connect_p99_ms", "connect to welcome p99", m.connect_time.ValueAt(0.99) * 1e-6, "ms", 2);
  if (storm) storm->AddStormRows(r, m);
  r.Section("publishing (measured window)");
  r.Int("sent", "messages sent", static_cast<long long>(m.t.sent));
  r.Int("acked", "messages acked", static_cast<long long>(m.t.acked));
  r.Int("unacked", "never acked (incl. warmup)", static_cast<long long>(m.t.unacked));
  r.Num("send_rate", "achieved send rate", m.t.sent / opt.duration, "msg/s", 1);
  r.Int("late_sends", "sends >5 ms behind schedule", static_cast<long long>(m.t.late_sends));
  r.Int("skipped_sends", "sends skipped (publisher gone)",
        static_cast<long long>(m.t.skipped_sends));
  r.Int("warmup_sent", "warmup messages sent", static_cast<long long>(m.t.warmup_sent));
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
  r.Num("straggler_s", "waited after publishing",
        static_cast<double>(window_end - std::min(window_end, ctl.publish_end_ns)) / 1e9, "s", 3);
  AddHttpViewerRows(r, opt.transport, m.t.http, m.t.http_window, opt.duration);
  r.Section("latency (send stamp to receipt)");
  AddLatency(r, "latency", m.latency);
  if (storm) storm->AddLatencyRows(r, m);
  r.Section("cost");
  r.Num("window_s", "CPU window (measure start..end)", window_s, "s", 2);
  r.Num("client_cpu_s", "client CPU in window", m.t.cpu_window_s + (self_cpu1 - self_cpu0), "s", 3);
  r.Num("client_cpu_pct", "client CPU in window",
        100 * (m.t.cpu_window_s + self_cpu1 - self_cpu0) / window_s, "% of a core", 1);
  r.Num("client_cpu_total_s", "client CPU whole run (self+workers)",
        RusageCpuSeconds(RUSAGE_SELF) + children_cpu, "s", 3);
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
  if (rss_end >= 0) {
    r.Num("server_rss_start_mb", "server RSS at start", rss_start / 1048576.0, "MiB", 1);
    r.Num("server_rss_end_mb", "server RSS at end", rss_end / 1048576.0, "MiB", 1);
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
  r.Text("complete", "run complete", ok && done && clean == workers ? "yes" : "no");
  r.PrintTable();
  if (opt.json) r.PrintJsonLine();
  return ok && done && clean == workers ? 0 : 1;
}

}  // namespace roomcast::load
