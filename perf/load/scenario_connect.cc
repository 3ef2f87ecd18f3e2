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

// The server's memory (and CPU) at one moment of the run; -1 where it could not be read.
struct ServerReading {
  long long rss = -1;
  long long pss = -1;
  long long slab = -1;  // the kernel's, machine-wide: both ends' socket buffers
  double cpu = -1;
};

ServerReading ReadServer(const std::vector<int>& server) {
  ServerReading s;
  s.rss = ProcessesRssBytes(server);
  s.pss = ProcessesPssBytes(server);
  s.slab = KernelSlabBytes();
  s.cpu = ProcessesCpuSeconds(server);
  return s;
}

// What the parent measured: the readings before, with all connected, at the end of the hold and
// after the close, and how the run ended.
struct ConnectRun {
  uint32_t workers = 0;
  ServerReading before;
  ServerReading after;  // all connected
  long long rss_held = -1;
  long long rss_closed = -1;
  long long slab_closed = -1;
  uint64_t parked_at_end = 0;
  bool ok = false;
  bool done = false;
  uint32_t clean = 0;

  [[nodiscard]] bool Complete() const { return ok && done && clean == workers; }
};

// The workers' figures added up.
struct ConnectTotals {
  uint64_t welcomed = 0;
  uint64_t failed_before = 0;
  uint64_t closed_after = 0;
  uint64_t last_welcome = 0;
  uint64_t errors = 0;
  uint64_t by_stage[kFailStages] = {};
  double worker_cpu = 0;
  uint64_t pings = 0;
  HttpViewerCounters http;
  Histogram connect_time;
};

ConnectTotals MergeConnectSlots(SharedState& shared) {
  ConnectTotals c;
  for (uint32_t w = 0; w < shared.Workers(); ++w) {
    WorkerSlot& s = shared.Slot(w);
    c.welcomed += s.welcomed.load(std::memory_order_relaxed);
    const WorkerTotals& t = s.totals;
    c.closed_after += t.closed_after_welcome;
    for (int i = 0; i < kFailStages; ++i) {
      c.by_stage[i] += t.failed_by_stage[i];
      c.failed_before += t.failed_by_stage[i];
    }
    c.last_welcome = std::max(c.last_welcome, t.last_welcome_ns);
    c.errors += t.error_frames;
    c.worker_cpu += t.cpu_total_s;
    c.pings += t.client.pings_answered;
    c.http.Add(t.http);
    c.connect_time.Merge(s.connect_time);
  }
  return c;
}

// After the go command: wait until every connection is resolved, read memory, hold, then finish
// the workers and read memory again once the sockets are gone.
void HoldAndClose(const Options& opt, SharedState& shared, WorkerPool& pool, uint64_t hard,
                  ConnectRun* run) {
  const std::vector<int>& server = opt.server_pids;
  bool ok = WaitForStage(shared, pool, Stage::kReady, hard - kSec, true);
  if (ok && opt.transport != Transport::kWs) ok = SleepWatching(pool, NowNs() + kHttpSettleNs);
  const uint64_t all_done = NowNs();
  run->after = ReadServer(server);
  if (ok)
    ok = SleepWatching(pool,
                       std::min(all_done + static_cast<uint64_t>(opt.hold * kSec), hard - kSec));
  run->rss_held = ProcessesRssBytes(server);
  for (uint32_t w = 0; w < run->workers; ++w) run->parked_at_end += shared.Slot(w).parked.load();
  run->ok = ok;
  shared.Ctl().command.store(static_cast<uint32_t>(Command::kFinish), std::memory_order_release);
  run->done = WaitForStage(shared, pool, Stage::kDone, hard, false);
  run->clean = pool.WaitAll(hard);
  const uint64_t closed_at = NowNs();
  (void)SleepWatching(pool, closed_at + kSettleNs);
  run->rss_closed = ProcessesRssBytes(server);
  run->slab_closed = KernelSlabBytes();
}

void AddSetupRows(Report& r, const Options& opt, uint32_t workers) {
  r.Section("setup");
  r.Text("url", "url", opt.url);
  r.Text("target", "target", opt.target_name);
  r.Text("transport", "viewer transport", TransportName(opt.transport));
  r.Int("conns", "connections asked", opt.conns);
  r.Num("rate_target", "target connect rate", opt.connect_rate, "/s", 0);
  r.Int("rooms", "rooms", opt.rooms);
  r.Num("hold_s", "hold", opt.hold, "s", 1);
  r.Int("workers", "client worker processes", workers);
}

// How the connections went; for HTTP viewers also their requests and answers. The open window
// runs from the scheduled first open to the last welcome.
void AddConnectionRows(Report& r, const Options& opt, const ConnectTotals& c, const ConnectRun& run,
                       uint64_t first_open_ns) {
  const double open_window = c.last_welcome > first_open_ns
                                 ? static_cast<double>(c.last_welcome - first_open_ns) / 1e9
                                 : 0;
  r.Section("connections");
  const bool longpoll = opt.transport == Transport::kLongPoll;
  r.Int("succeeded",
        longpoll                           ? "first poll answered"
        : opt.transport == Transport::kSse ? "welcomed (SSE welcome event)"
                                           : "welcomed",
        static_cast<long long>(c.welcomed));
  if (longpoll) {
    r.Int("parked", "parked (second poll sent)", static_cast<long long>(run.parked_at_end));
  }
  r.Int("failed", "failed before welcome", static_cast<long long>(c.failed_before));
  for (int i = 0; i < kFailStages; ++i) {
    if (!c.by_stage[i]) continue;
    const std::string name = FailStageName(static_cast<FailStage>(i));
    r.Int("failed_" + name, "  of which at " + name, static_cast<long long>(c.by_stage[i]));
  }
  r.Int("closed_during_hold", "closed by the server while held",
        static_cast<long long>(c.closed_after));
  r.Int("error_frames", "server error replies", static_cast<long long>(c.errors));
  r.Num("connect_rate", "achieved connect rate", open_window > 0 ? c.welcomed / open_window : 0,
        "/s", 0);
  r.Num("open_s", "first connect to last welcome", open_window, "s", 2);
  r.Num("connect_p50_ms", "connect to welcome p50", c.connect_time.ValueAt(0.5) * 1e-6, "ms", 2);
  r.Num("connect_p99_ms", "connect to welcome p99", c.connect_time.ValueAt(0.99) * 1e-6, "ms", 2);
  r.Num("connect_max_ms", "connect to welcome max", c.connect_time.Max() * 1e-6, "ms", 2);
  r.Int("pings_answered", "server pings answered", static_cast<long long>(c.pings));
  if (opt.transport != Transport::kWs) {
    r.Int("http_requests", "HTTP requests sent", static_cast<long long>(c.http.requests));
    r.Int("http_errors", "non-200 answers", static_cast<long long>(c.http.errors));
    r.Int("http_bad_answers", "unreadable answers", static_cast<long long>(c.http.bad_answers));
  }
  if (longpoll) {
    // Answers beyond the first per viewer: a parked poll the server let go during the run (the
    // hold expired, or it drained); each was polled again.
    r.Int(
        "poll_answers_after_park", "parked polls answered during the run",
        static_cast<long long>(c.http.responses > c.welcomed ? c.http.responses - c.welcomed : 0));
  }
  if (opt.transport == Transport::kSse) {
    r.Int("sse_heartbeats", "SSE comment lines (heartbeats)",
          static_cast<long long>(c.http.sse_comments));
  }
}

// The server's RSS and PSS (per connection: the point of this scenario) and the kernel's Slab.
void AddMemoryRows(Report& r, const Options& opt, const ConnectTotals& c, const ConnectRun& run) {
  const ServerReading& before = run.before;
  const ServerReading& after = run.after;
  const uint64_t welcomed = c.welcomed;
  r.Section("memory");
  if (before.rss >= 0 && after.rss >= 0) {
    r.Num("server_rss_before_mb", "server RSS before", before.rss / 1048576.0, "MiB", 1);
    r.Num("server_rss_after_mb", "server RSS all connected", after.rss / 1048576.0, "MiB", 1);
    if (run.rss_held >= 0)
      r.Num("server_rss_held_mb", "server RSS end of hold", run.rss_held / 1048576.0, "MiB", 1);
    if (run.rss_closed >= 0)
      r.Num("server_rss_closed_mb", "server RSS 0.5 s after close", run.rss_closed / 1048576.0,
            "MiB", 1);
    if (welcomed) {
      r.Num("server_bytes_per_conn", "server RSS per connection",
            double(after.rss - before.rss) / welcomed, "bytes", 0);
    }
    if (opt.transport == Transport::kLongPoll && run.parked_at_end) {
      r.Num("server_bytes_per_parked", "server RSS per parked long-poll viewer",
            double(after.rss - before.rss) / run.parked_at_end, "bytes", 0);
    }
    if (before.pss >= 0 && after.pss >= 0) {
      r.Num("server_pss_before_mb", "server PSS before", before.pss / 1048576.0, "MiB", 1);
      r.Num("server_pss_after_mb", "server PSS all connected", after.pss / 1048576.0, "MiB", 1);
      if (welcomed) {
        r.Num("server_pss_bytes_per_conn", "server PSS per connection",
              double(after.pss - before.pss) / welcomed, "bytes", 0);
      }
    }
    if (opt.server_pids.size() > 1) {
      r.Int("server_pids", "server processes summed",
            static_cast<long long>(opt.server_pids.size()));
    }
    if (before.cpu >= 0 && after.cpu >= 0) {
      r.Num("server_cpu_s", "server CPU while connecting", after.cpu - before.cpu, "s", 3);
    }
  } else {
    r.Missing("server_rss_after_mb", "server RSS (--server-pid)");
  }
  if (before.slab >= 0 && after.slab >= 0) {
    r.Num("slab_before_mb", "kernel Slab before", before.slab / 1048576.0, "MiB", 1);
    r.Num("slab_after_mb", "kernel Slab all connected", after.slab / 1048576.0, "MiB", 1);
    r.Num("slab_closed_mb", "kernel Slab 0.5 s after close", run.slab_closed / 1048576.0, "MiB", 1);
    if (welcomed) {
      r.Num("slab_bytes_per_conn", "Slab per connection (both ends)",
            double(after.slab - before.slab) / welcomed, "bytes", 0);
    }
  }
}

}  // namespace

int RunConnect(const Options& opt) {
  ConnectRun run;
  run.workers = ChooseWorkers(opt);
  if (run.workers == 0) return 1;
  const uint32_t workers = run.workers;
  run.before = ReadServer(opt.server_pids);
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
  HoldAndClose(opt, shared, pool, hard, &run);
  const ConnectTotals c = MergeConnectSlots(shared);

  Report r("connect");
  AddSetupRows(r, opt, workers);
  AddConnectionRows(r, opt, c, run, ctl.publish_start_ns);
  AddMemoryRows(r, opt, c, run);
  r.Section("cost");
  r.Num("client_cpu_s", "client CPU (self+workers)", RusageCpuSeconds(RUSAGE_SELF) + c.worker_cpu,
        "s", 3);
  r.Text("complete", "run complete", run.Complete() ? "yes" : "no");
  r.PrintTable();
  if (opt.json) r.PrintJsonLine();
  return run.Complete() ? 0 : 1;
}

}  // namespace roomcast::load
