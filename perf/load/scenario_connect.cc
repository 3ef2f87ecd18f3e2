// The connect scenario's parent: memory before, paced opens, memory after, hold, close.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "connect_worker.h"
#include "proc_stats.h"
#include "report.h"
#include "scenarios.h"

namespace roomcast::load {

namespace {
constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kSettleNs = 500000000;  // after the close, before the last memory reading
// HTTP viewers are resolved when their request is sent (long-poll: the parking poll), not when the
// server has handled it: give the server this long before the "all connected" memory reading.
constexpr uint64_t kHttpSettleNs = 250000000;
}  // namespace

int RunConnect(const Options& opt) {
  const uint32_t workers = ChooseWorkers(opt);
  if (workers == 0) return 1;
  const std::vector<int>& server = opt.server_pids;
  const long long rss_before = ProcessesRssBytes(server);
  const long long pss_before = ProcessesPssBytes(server);
  const long long slab_before = KernelSlabBytes();
  const double server_cpu_before = ProcessesCpuSeconds(server);
  const uint64_t t0 = NowNs();
  const double open_secs = opt.conns / opt.connect_rate;
  const uint64_t hard =
      t0 + static_cast<uint64_t>((open_secs + opt.connect_timeout + opt.hold + 30) * kSec);

  SharedState shared(workers, 1);
  Control& ctl = shared.Ctl();
  ctl.publish_start_ns = t0 + 20000000;
  ctl.command.store(static_cast<uint32_t>(Command::kGo), std::memory_order_release);
  WorkerPool pool;
  if (!pool.Start(workers,
                  [&](uint32_t w) { return RunConnectWorker(opt, &shared, w, hard - kSec); })) {
    return 1;
  }
  bool ok = WaitForStage(shared, pool, Stage::kReady, hard - kSec, true);
  if (ok && opt.transport != Transport::kWs) ok = SleepWatching(pool, NowNs() + kHttpSettleNs);
  const uint64_t all_done = NowNs();
  const long long rss_after = ProcessesRssBytes(server);
  const long long pss_after = ProcessesPssBytes(server);
  const long long slab_after = KernelSlabBytes();
  const double server_cpu_after = ProcessesCpuSeconds(server);
  if (ok)
    ok = SleepWatching(pool,
                       std::min(all_done + static_cast<uint64_t>(opt.hold * kSec), hard - kSec));
  const long long rss_held = ProcessesRssBytes(server);
  uint64_t parked_at_end = 0;
  for (uint32_t w = 0; w < workers; ++w) parked_at_end += shared.Slot(w).parked.load();
  ctl.command.store(static_cast<uint32_t>(Command::kFinish), std::memory_order_release);
  const bool done = WaitForStage(shared, pool, Stage::kDone, hard, false);
  const uint32_t clean = pool.WaitAll(hard);
  const uint64_t closed_at = NowNs();
  (void)SleepWatching(pool, closed_at + kSettleNs);
  const long long rss_closed = ProcessesRssBytes(server);
  const long long slab_closed = KernelSlabBytes();

  uint64_t welcomed = 0, failed_before = 0, closed_after = 0, last_welcome = 0, errors = 0;
  uint64_t by_stage[kFailStages] = {};
  double worker_cpu = 0;
  uint64_t pings = 0;
  HttpViewerCounters http;
  Histogram connect_time;
  for (uint32_t w = 0; w < workers; ++w) {
    WorkerSlot& s = shared.Slot(w);
    welcomed += s.welcomed.load(std::memory_order_relaxed);
    const WorkerTotals& t = s.totals;
    closed_after += t.closed_after_welcome;
    for (int i = 0; i < kFailStages; ++i) {
      by_stage[i] += t.failed_by_stage[i];
      failed_before += t.failed_by_stage[i];
    }
    last_welcome = std::max(last_welcome, t.last_welcome_ns);
    errors += t.error_frames;
    worker_cpu += t.cpu_total_s;
    pings += t.client.pings_answered;
    http.Add(t.http);
    connect_time.Merge(s.connect_time);
  }
  const double open_window = last_welcome > ctl.publish_start_ns
                                 ? static_cast<double>(last_welcome - ctl.publish_start_ns) / 1e9
                                 : 0;

  Report r("connect");
  r.Section("setup");
  r.Text("url", "url", opt.url);
  r.Text("target", "target", opt.target_name);
  r.Text("transport", "viewer transport", TransportName(opt.transport));
  r.Int("conns", "connections asked", opt.conns);
  r.Num("rate_target", "target connect rate", opt.connect_rate, "/s", 0);
  r.Int("rooms", "rooms", opt.rooms);
  r.Num("hold_s", "hold", opt.hold, "s", 1);
  r.Int("workers", "client worker processes", workers);
  r.Section("connections");
  const bool longpoll = opt.transport == Transport::kLongPoll;
  r.Int("succeeded",
        longpoll                           ? "first poll answered"
        : opt.transport == Transport::kSse ? "welcomed (SSE welcome event)"
                                           : "welcomed",
        static_cast<long long>(welcomed));
  if (longpoll) r.Int("parked", "parked (second poll sent)", static_cast<long long>(parked_at_end));
  r.Int("failed", "failed before welcome", static_cast<long long>(failed_before));
  for (int i = 0; i < kFailStages; ++i) {
    if (!by_stage[i]) continue;
    const std::string name = FailStageName(static_cast<FailStage>(i));
    r.Int("failed_" + name, "  of which at " + name, static_cast<long long>(by_stage[i]));
  }
  r.Int("closed_during_hold", "closed by the server while held",
        static_cast<long long>(closed_after));
  r.Int("error_frames", "server error replies", static_cast<long long>(errors));
  r.Num("connect_rate", "achieved connect rate", open_window > 0 ? welcomed / open_window : 0, "/s",
        0);
  r.Num("open_s", "first connect to last welcome", open_window, "s", 2);
  r.Num("connect_p50_ms", "connect to welcome p50", connect_time.ValueAt(0.5) * 1e-6, "ms", 2);
  r.Num("connect_p99_ms", "connect to welcome p99", connect_time.ValueAt(0.99) * 1e-6, "ms", 2);
  r.Num("connect_max_ms", "connect to welcome max", connect_time.Max() * 1e-6, "ms", 2);
  r.Int("pings_answered", "server pings answered", static_cast<long long>(pings));
  if (opt.transport != Transport::kWs) {
    r.Int("http_requests", "HTTP requests sent", static_cast<long long>(http.requests));
    r.Int("http_errors", "non-200 answers", static_cast<long long>(http.errors));
    r.Int("http_bad_answers", "unreadable answers", static_cast<long long>(http.bad_answers));
  }
  if (longpoll) {
    // Answers beyond the first per viewer: a parked poll the server let go during the run (the
    // hold expired, or it drained); each was polled again.
    r.Int("poll_answers_after_park", "parked polls answered during the run",
          static_cast<long long>(http.responses > welcomed ? http.responses - welcomed : 0));
  }
  if (opt.transport == Transport::kSse) {
    r.Int("sse_heartbeats", "SSE comment lines (heartbeats)",
          static_cast<long long>(http.sse_comments));
  }
  r.Section("memory");
  if (rss_before >= 0 && rss_after >= 0) {
    r.Num("server_rss_before_mb", "server RSS before", rss_before / 1048576.0, "MiB", 1);
    r.Num("server_rss_after_mb", "server RSS all connected", rss_after / 1048576.0, "MiB", 1);
    if (rss_held >= 0)
      r.Num("server_rss_held_mb", "server RSS end of hold", rss_held / 1048576.0, "MiB", 1);
    if (rss_closed >= 0)
      r.Num("server_rss_closed_mb", "server RSS 0.5 s after close", rss_closed / 1048576.0, "MiB",
            1);
    if (welcomed) {
      r.Num("server_bytes_per_conn", "server RSS per connection",
            double(rss_after - rss_before) / welcomed, "bytes", 0);
    }
    if (longpoll && parked_at_end) {
      r.Num("server_bytes_per_parked", "server RSS per parked long-poll viewer",
            double(rss_after - rss_before) / parked_at_end, "bytes", 0);
    }
    if (pss_before >= 0 && pss_after >= 0) {
      r.Num("server_pss_before_mb", "server PSS before", pss_before / 1048576.0, "MiB", 1);
      r.Num("server_pss_after_mb", "server PSS all connected", pss_after / 1048576.0, "MiB", 1);
      if (welcomed) {
        r.Num("server_pss_bytes_per_conn", "server PSS per connection",
              double(pss_after - pss_before) / welcomed, "bytes", 0);
      }
    }
    if (server.size() > 1) {
      r.Int("server_pids", "server processes summed", static_cast<long long>(server.size()));
    }
    if (server_cpu_before >= 0 && server_cpu_after >= 0) {
      r.Num("server_cpu_s", "server CPU while connecting", server_cpu_after - server_cpu_before,
            "s", 3);
    }
  } else {
    r.Missing("server_rss_after_mb", "server RSS (--server-pid)");
  }
  if (slab_before >= 0 && slab_after >= 0) {
    r.Num("slab_before_mb", "kernel Slab before", slab_before / 1048576.0, "MiB", 1);
    r.Num("slab_after_mb", "kernel Slab all connected", slab_after / 1048576.0, "MiB", 1);
    r.Num("slab_closed_mb", "kernel Slab 0.5 s after close", slab_closed / 1048576.0, "MiB", 1);
    if (welcomed) {
      r.Num("slab_bytes_per_conn", "Slab per connection (both ends)",
            double(slab_after - slab_before) / welcomed, "bytes", 0);
    }
  }
  r.Section("cost");
  r.Num("client_cpu_s", "client CPU (self+workers)", RusageCpuSeconds(RUSAGE_SELF) + worker_cpu,
        "s", 3);
  r.Text("complete", "run complete", ok && done && clean == workers ? "yes" : "no");
  r.PrintTable();
  if (opt.json) r.PrintJsonLine();
  return ok && done && clean == workers ? 0 : 1;
}

}  // namespace roomcast::load
