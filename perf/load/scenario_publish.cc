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

// What the parent measured around the run: the instants of its phases and the /proc and rusage
// readings taken at them, for the report.
struct PublishRun {
  uint32_t workers = 0;
  uint64_t t0 = 0;
  uint64_t joined = 0;
  uint64_t window_start = 0;
  uint64_t window_end = 0;
  uint64_t stragglers_done = 0;
  double server_cpu0 = -1;
  double server_cpu1 = -1;
  double children_cpu = 0;
  long long rss_start = -1;
  long long rss_end = -1;
  bool ok = false;
  bool done = false;
  uint32_t clean = 0;

  [[nodiscard]] bool Complete() const { return ok && done && clean == workers; }
};

// Report::Int takes a signed count.
long long AsInt(uint64_t v) { return static_cast<long long>(v); }

// From the go command to the workers' exit: the measured window (server CPU read at its edges),
// the straggler wait, then the finish command and the workers' reports.
void MeasureAndFinish(const Options& opt, SharedState& shared, WorkerPool& pool, uint64_t hard,
                      PublishRun* run) {
  const std::vector<int>& server = opt.server_pids;
  Control& ctl = shared.Ctl();
  if (run->ok) run->ok = SleepWatching(pool, ctl.measure_start_ns);
  run->server_cpu0 = ProcessesCpuSeconds(server);
  run->window_start = NowNs();
  if (run->ok) run->ok = SleepWatching(pool, std::min(ctl.publish_end_ns, hard - kSec));
  run->window_end = NowNs();
  run->server_cpu1 = ProcessesCpuSeconds(server);
  run->rss_end = ProcessesRssBytes(server);
  // Stragglers: each worker waits up to --straggler-secs for the acks of its measured sends.
  const uint64_t grace_end = std::min(
      ctl.publish_end_ns + static_cast<uint64_t>(opt.straggler_secs * kSec) + kSec, hard - kSec);
  if (run->ok) run->ok = WaitForStage(shared, pool, Stage::kPublished, grace_end, false);
  run->stragglers_done = NowNs();
  ctl.command.store(static_cast<uint32_t>(Command::kFinish), std::memory_order_release);
  run->done = WaitForStage(shared, pool, Stage::kDone, hard, false);
  run->clean = pool.WaitAll(hard);
  run->children_cpu = RusageCpuSeconds(RUSAGE_CHILDREN);
}

void AddSetupRows(Report& r, const Options& opt, uint32_t workers) {
  const bool paced = opt.rate > 0;
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
}

// Sends, acks and refusals of the measured window; the pacing rows only when --rate paces.
void AddPublishingRows(Report& r, const Options& opt, const Merged& m, const PublishRun& run,
                       uint64_t publish_end_ns) {
  const PublishCounters& pc = m.t.publish;
  r.Section("publishing (sends in the measured window)");
  r.Int("sent", "sent", AsInt(m.t.sent));
  r.Int("acked", "acked", AsInt(m.t.acked));
  r.Int("errors", "answered by an error", AsInt(pc.errors));
  r.Int("unacked", "unanswered at the end", AsInt(m.t.unacked));
  r.Num("send_rate", "sends/s", m.t.sent / opt.duration, "msg/s", 1);
  r.Num("acks_per_s", "acks/s (arrived in the window)", pc.acks_in_window / opt.duration, "/s", 1);
  if (opt.rate > 0) {
    r.Int("late_sends", "sends >5 ms behind schedule", AsInt(m.t.late_sends));
    r.Int("window_held", "due sends held by a full window", AsInt(pc.window_held));
    r.Int("not_sent", "due sends never sent (window full)", AsInt(pc.not_sent));
  }
  r.Int("warmup_sent", "warmup sends", AsInt(m.t.warmup_sent));
  r.Int("error_frames", "error frames (whole run)", AsInt(m.t.error_frames));
  r.Int("acks_out_of_order", "acks not for the oldest send", AsInt(pc.out_of_order));
  r.Int("acks_unmatched", "acks matching no unanswered send", AsInt(pc.unmatched));
  const uint64_t done = run.stragglers_done;
  r.Num("straggler_s", "waited after publishing",
        static_cast<double>(done - std::min(done, publish_end_ns)) / 1e9, "s", 3);
}

// The room's messages that came back to the publishers themselves (they are members too).
void AddEchoRows(Report& r, const Options& opt, const Merged& m) {
  const PublishCounters& pc = m.t.publish;
  r.Section("room messages back to the publishers");
  r.Int("msgs_received", "msg frames in the window", AsInt(pc.msgs_in_window));
  r.Num("msgs_per_s", "msg frames/s", pc.msgs_in_window / opt.duration, "/s", 1);
  r.Num("msgs_per_ack", "msg frames per ack",
        pc.acks_in_window ? static_cast<double>(pc.msgs_in_window) / pc.acks_in_window : 0, "", 2);
  r.Int("msgs_total", "msg frames (whole run)", AsInt(pc.msgs_total));
  r.Int("gap_notices", "server gap notices", AsInt(m.t.gap_frames));
  r.Int("other_frames", "other frames", AsInt(m.t.other_frames));
}

// CPU of both sides over the window, server memory, and the client's own I/O statistics.
void AddCostRows(Report& r, const Options& opt, const Merged& m, const PublishRun& run) {
  const std::vector<int>& server = opt.server_pids;
  const PublishCounters& pc = m.t.publish;
  const double window_s = static_cast<double>(run.window_end - run.window_start) / 1e9;
  r.Section("cost");
  r.Num("window_s", "CPU window (measure start..end)", window_s, "s", 2);
  r.Num("client_cpu_s", "client CPU in window", m.t.cpu_window_s, "s", 3);
  r.Num("client_cpu_pct", "client CPU in window", 100 * m.t.cpu_window_s / window_s, "% of a core",
        1);
  r.Num("client_cpu_total_s", "client CPU whole run (self+workers)",
        RusageCpuSeconds(RUSAGE_SELF) + run.children_cpu, "s", 3);
  if (run.server_cpu0 >= 0 && run.server_cpu1 >= 0) {
    const double cpu = run.server_cpu1 - run.server_cpu0;
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
  if (server.size() > 1) r.Int("server_pids", "server processes summed", AsInt(server.size()));
  if (run.rss_end >= 0) {
    r.Num("server_rss_start_mb", "server RSS at start", run.rss_start / 1048576.0, "MiB", 1);
    r.Num("server_rss_end_mb", "server RSS at end", run.rss_end / 1048576.0, "MiB", 1);
  } else {
    r.Missing("server_rss_end_mb", "server RSS (--server-pid)");
  }
  r.Int("recv_completions", "client receive completions", AsInt(m.t.client.recv_completions));
  r.Num("frames_per_recv", "frames per receive",
        m.t.client.recv_completions ? double(m.t.client.frames) / m.t.client.recv_completions : 0,
        "", 1);
  r.Int("client_sends", "client send calls", AsInt(m.t.client.sends));
  r.Int("enobufs", "receive buffer ring ran dry", AsInt(m.t.client.enobufs));
  r.Int("pings_answered", "server pings answered", AsInt(m.t.client.pings_answered));
}

// The report: the human table, then (--json) the same figures as one JSON line.
void PrintPublishReport(const Options& opt, SharedState& shared, const PublishRun& run) {
  const Merged m = MergeSlots(shared);
  Report r("publish");
  AddSetupRows(r, opt, run.workers);
  r.Section("connections");
  AddJoinRows(r, m, static_cast<double>(run.joined - run.t0) / 1e9);
  AddPublishingRows(r, opt, m, run, shared.Ctl().publish_end_ns);
  AddEchoRows(r, opt, m);
  r.Section("ack latency (send to ack, measured sends)");
  AddLatency(r, "ack_latency", m.latency);
  AddCostRows(r, opt, m, run);
  r.Text("complete", "run complete", run.Complete() ? "yes" : "no");
  r.PrintTable();
  if (opt.json) r.PrintJsonLine();
}

}  // namespace

int RunPublish(const Options& opt) {
  PublishRun run;
  run.workers = ChooseWorkers(opt);
  if (run.workers == 0) return 1;
  const uint32_t workers = run.workers;
  run.t0 = NowNs();
  const double join_allowance = opt.connect_timeout + opt.publishers / 2000.0;
  const uint64_t hard =
      run.t0 + static_cast<uint64_t>(
                   (opt.pause_before + opt.warmup + opt.duration + 30 + join_allowance) * kSec);
  run.rss_start = ProcessesRssBytes(opt.server_pids);

  SharedState shared(workers, 1);
  WorkerPool pool;
  // Workers stop a second before the parent's deadline so that their results still arrive.
  if (!pool.Start(workers,
                  [&](uint32_t w) { return RunPublishWorker(opt, &shared, w, hard - kSec); })) {
    return 1;
  }
  Control& ctl = shared.Ctl();
  run.ok = JoinAndSchedule(shared, pool, workers, opt, hard - kSec, "publisher");
  run.joined = NowNs();
  ctl.command.store(static_cast<uint32_t>(Command::kGo), std::memory_order_release);
  MeasureAndFinish(opt, shared, pool, hard, &run);
  PrintPublishReport(opt, shared, run);
  return run.Complete() ? 0 : 1;
}

}  // namespace roomcast::load
