// The publish scenario's parent: join barrier, measured window, straggler wait, merge and report.
// What it measures: how many sends per second the server sequences and acknowledges, and the
// send-to-ack latency of each (publish_worker.h).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fanout_plan.h"
#include "fanout_results.h"
#include "proc_stats.h"
#include "publish_worker.h"
#include "report.h"
#include "scenarios.h"

namespace roomcast::load {

namespace {
constexpr uint64_t kSec = 1000000000ull;
}  // namespace

int RunPublish(const Options& opt) {
  const uint32_t workers = ChooseWorkers(opt);
  if (workers == 0) return 1;
  const uint64_t t0 = NowNs();
  const double join_allowance = opt.connect_timeout + opt.publishers / 2000.0;
  const uint64_t hard =
      t0 + static_cast<uint64_t>((opt.warmup + opt.duration + 30 + join_allowance) * kSec);
  const std::vector<int>& server = opt.server_pids;
  const long long rss_start = ProcessesRssBytes(server);

  SharedState shared(workers, 1);
  WorkerPool pool;
  // Workers stop a second before the parent's deadline so that their results still arrive.
  if (!pool.Start(workers,
                  [&](uint32_t w) { return RunPublishWorker(opt, &shared, w, hard - kSec); })) {
    return 1;
  }
  Control& ctl = shared.Ctl();
  bool ok = JoinAndSchedule(shared, pool, workers, opt, hard - kSec, "publisher");
  const uint64_t joined = NowNs();
  ctl.command.store(static_cast<uint32_t>(Command::kGo), std::memory_order_release);

  if (ok) ok = SleepWatching(pool, ctl.measure_start_ns);
  const double server_cpu0 = ProcessesCpuSeconds(server);
  const uint64_t window_start = NowNs();
  if (ok) ok = SleepWatching(pool, std::min(ctl.publish_end_ns, hard - kSec));
  const uint64_t window_end = NowNs();
  const double server_cpu1 = ProcessesCpuSeconds(server);
  const long long rss_end = ProcessesRssBytes(server);
  // Stragglers: each worker waits up to --straggler-secs for the acks of its measured sends.
  const uint64_t grace_end = std::min(
      ctl.publish_end_ns + static_cast<uint64_t>(opt.straggler_secs * kSec) + kSec, hard - kSec);
  if (ok) ok = WaitForStage(shared, pool, Stage::kPublished, grace_end, false);
  const uint64_t stragglers_done = NowNs();
  ctl.command.store(static_cast<uint32_t>(Command::kFinish), std::memory_order_release);
  const bool done = WaitForStage(shared, pool, Stage::kDone, hard, false);
  const uint32_t clean = pool.WaitAll(hard);
  const double children_cpu = RusageCpuSeconds(RUSAGE_CHILDREN);

  const Merged m = MergeSlots(shared);
  const PublishCounters& pc = m.t.publish;
  const double window_s = static_cast<double>(window_end - window_start) / 1e9;
  const bool paced = opt.rate > 0;
  const auto n = [](uint64_t v) { return static_cast<long long>(v); };

  Report r("publish");
  r.Section("setup");
  r.Text("url", "url", opt.url);
  r.Text("target", "target", opt.target_name);
  r.Int("publishers", "publishers (also receive)", opt.publishers);
  r.Int("rooms", "rooms", opt.rooms);
  r.Int("publishers_per_room_max", "publishers per room (most)", PublishersInRoom(opt, 0));
  r.Num("rate_target", paced ? "target rate" : "target rate (0: as the window allows)", opt.rate,
        "msg/s", 1);
  r.Int("window", "window (unacked sends per publisher)", opt.window);
  r.Int("size", "text size", opt.size, "bytes");
  r.Num("duration_s", "measured duration", opt.duration, "s", 1);
  r.Num("warmup_s", "warmup", opt.warmup, "s", 1);
  r.Int("workers", "client worker processes", workers);
  r.Section("connections");
  r.Int("welcomed", "welcomed", n(m.welcomed));
  r.Int("failed", "failed before welcome", n(m.failed - m.t.closed_after_welcome));
  for (int i = 0; i < kFailStages; ++i) {
    if (!m.t.failed_by_stage[i]) continue;
    const std::string name = FailStageName(static_cast<FailStage>(i));
    r.Int("failed_" + name, "  of which at " + name, n(m.t.failed_by_stage[i]));
  }
  r.Int("closed_during_run", "closed after welcome", n(m.t.closed_after_welcome));
  r.Num("join_s", "time to join all", static_cast<double>(joined - t0) / 1e9, "s", 2);
  r.Num("connect_p50_ms", "connect to welcome p50", m.connect_time.ValueAt(0.5) * 1e-6, "ms", 2);
  r.Num("connect_p99_ms", "connect to welcome p99", m.connect_time.ValueAt(0.99) * 1e-6, "ms", 2);
  r.Section("publishing (sends in the measured window)");
  r.Int("sent", "sent", n(m.t.sent));
  r.Int("acked", "acked", n(m.t.acked));
  r.Int("errors", "answered by an error", n(pc.errors));
  r.Int("unacked", "unanswered at the end", n(m.t.unacked));
  r.Num("send_rate", "sends/s", m.t.sent / opt.duration, "msg/s", 1);
  r.Num("acks_per_s", "acks/s (arrived in the window)", pc.acks_in_window / opt.duration, "/s", 1);
  if (paced) {
    r.Int("late_sends", "sends >5 ms behind schedule", n(m.t.late_sends));
    r.Int("window_held", "due sends held by a full window", n(pc.window_held));
    r.Int("not_sent", "due sends never sent (window full)", n(pc.not_sent));
  }
  r.Int("warmup_sent", "warmup sends", n(m.t.warmup_sent));
  r.Int("error_frames", "error frames (whole run)", n(m.t.error_frames));
  r.Int("acks_out_of_order", "acks not for the oldest send", n(pc.out_of_order));
  r.Int("acks_unmatched", "acks matching no unanswered send", n(pc.unmatched));
  r.Num("straggler_s", "waited after publishing",
        static_cast<double>(stragglers_done - std::min(stragglers_done, ctl.publish_end_ns)) / 1e9,
        "s", 3);
  r.Section("room messages back to the publishers");
  r.Int("msgs_received", "msg frames in the window", n(pc.msgs_in_window));
  r.Num("msgs_per_s", "msg frames/s", pc.msgs_in_window / opt.duration, "/s", 1);
  r.Num("msgs_per_ack", "msg frames per ack",
        pc.acks_in_window ? static_cast<double>(pc.msgs_in_window) / pc.acks_in_window : 0, "", 2);
  r.Int("msgs_total", "msg frames (whole run)", n(pc.msgs_total));
  r.Int("gap_notices", "server gap notices", n(m.t.gap_frames));
  r.Int("other_frames", "other frames", n(m.t.other_frames));
  r.Section("ack latency (send to ack, measured sends)");
  AddLatency(r, "ack_latency", m.latency);
  r.Section("cost");
  r.Num("window_s", "CPU window (measure start..end)", window_s, "s", 2);
  r.Num("client_cpu_s", "client CPU in window", m.t.cpu_window_s, "s", 3);
  r.Num("client_cpu_pct", "client CPU in window", 100 * m.t.cpu_window_s / window_s, "% of a core",
        1);
  r.Num("client_cpu_total_s", "client CPU whole run (self+workers)",
        RusageCpuSeconds(RUSAGE_SELF) + children_cpu, "s", 3);
  if (server_cpu0 >= 0 && server_cpu1 >= 0) {
    const double cpu = server_cpu1 - server_cpu0;
    r.Num("server_cpu_s", "server CPU in window", cpu, "s", 3);
    r.Num("server_cpu_pct", "server CPU in window", 100 * cpu / window_s, "% of a core", 1);
    if (pc.acks_in_window) {
      r.Num("server_ns_per_ack", "server CPU per ack", cpu * 1e9 / pc.acks_in_window, "ns", 0);
    }
    if (cpu > 0) {
      r.Num("acks_per_server_cpu_s", "acks per server CPU-second", pc.acks_in_window / cpu, "/s",
            0);
    }
  } else {
    r.Missing("server_cpu_s", "server CPU in window (--server-pid)");
  }
  if (server.size() > 1) r.Int("server_pids", "server processes summed", n(server.size()));
  if (rss_end >= 0) {
    r.Num("server_rss_start_mb", "server RSS at start", rss_start / 1048576.0, "MiB", 1);
    r.Num("server_rss_end_mb", "server RSS at end", rss_end / 1048576.0, "MiB", 1);
  } else {
    r.Missing("server_rss_end_mb", "server RSS (--server-pid)");
  }
  r.Int("recv_completions", "client receive completions", n(m.t.client.recv_completions));
  r.Num("frames_per_recv", "frames per receive",
        m.t.client.recv_completions ? double(m.t.client.frames) / m.t.client.recv_completions : 0,
        "", 1);
  r.Int("client_sends", "client send calls", n(m.t.client.sends));
  r.Int("enobufs", "receive buffer ring ran dry", n(m.t.client.enobufs));
  r.Int("pings_answered", "server pings answered", n(m.t.client.pings_answered));
  const bool complete = ok && done && clean == workers;
  r.Text("complete", "run complete", complete ? "yes" : "no");
  r.PrintTable();
  if (opt.json) r.PrintJsonLine();
  return complete ? 0 : 1;
}

}  // namespace roomcast::load
