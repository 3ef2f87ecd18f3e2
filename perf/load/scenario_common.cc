// Helpers both scenario parents use: worker count, watched sleeps, phase barriers.
#include <cstdio>
#include <ctime>

#include "proc_stats.h"
#include "scenarios.h"
#include "uring_client.h"

namespace roomcast::load {

namespace {
constexpr uint64_t kConnsPerWorker = 16000;
constexpr uint64_t kSpareFds = 64;  // ring, buffers, stdio, /proc reads
}  // namespace

uint32_t ChooseWorkers(const Options& opt) {
  const uint64_t total = TotalConnections(opt);
  uint64_t workers = opt.workers;
  if (workers == 0) workers = total == 0 ? 1 : (total + kConnsPerWorker - 1) / kConnsPerWorker;
  // Several --url: a multiple of their count, so that every URL gets an equal share.
  const uint64_t urls = opt.targets.size() > 1 ? opt.targets.size() : 1;
  if (opt.workers == 0) workers = (workers + urls - 1) / urls * urls;
  if (workers % urls != 0) {
    std::fprintf(stderr, "roomcast-load: --workers %llu is not a multiple of the %llu --url\n",
                 static_cast<unsigned long long>(workers), static_cast<unsigned long long>(urls));
    return 0;
  }
  const long limit = RaiseFileLimit();
  const uint64_t share = (total + workers - 1) / workers;
  if (limit > 0 && share + kSpareFds > static_cast<uint64_t>(limit)) {
    std::fprintf(
        stderr,
        "roomcast-load: %llu connections per worker do not fit the descriptor limit %ld; "
        "use --workers %llu or more\n",
        static_cast<unsigned long long>(share), limit,
        static_cast<unsigned long long>((total + limit - kSpareFds - 1) / (limit - kSpareFds)));
    return 0;
  }
  return static_cast<uint32_t>(workers);
}

bool SleepWatching(WorkerPool& pool, uint64_t until_ns) {
  for (uint64_t now = NowNs(); now < until_ns; now = NowNs()) {
    if (pool.AnyFailed()) return false;
    const uint64_t step = std::min<uint64_t>(until_ns - now, 5000000);
    const timespec ts{0, static_cast<long>(step)};
    nanosleep(&ts, nullptr);
  }
  return true;
}

bool WaitForStage(SharedState& shared, WorkerPool& pool, Stage stage, uint64_t deadline_ns,
                  bool progress) {
  uint64_t next_note = NowNs() + 1000000000ull;
  for (;;) {
    uint32_t ready = 0;
    uint64_t opened = 0, welcomed = 0, failed = 0;
    for (uint32_t w = 0; w < shared.Workers(); ++w) {
      WorkerSlot& s = shared.Slot(w);
      if (s.stage.load(std::memory_order_acquire) >= static_cast<uint32_t>(stage)) ++ready;
      opened += s.opened.load(std::memory_order_relaxed);
      welcomed += s.welcomed.load(std::memory_order_relaxed);
      failed += s.failed.load(std::memory_order_relaxed);
    }
    if (ready == shared.Workers()) return true;
    const uint64_t now = NowNs();
    if (now >= deadline_ns) {
      std::fprintf(stderr, "roomcast-load: deadline passed waiting for the workers\n");
      return false;
    }
    if (progress && now >= next_note) {
      std::fprintf(stderr, "roomcast-load: opened %llu, welcomed %llu, failed %llu\n",
                   static_cast<unsigned long long>(opened),
                   static_cast<unsigned long long>(welcomed),
                   static_cast<unsigned long long>(failed));
      next_note = now + 1000000000ull;
    }
    if (!SleepWatching(pool, std::min(now + 2000000, deadline_ns))) {
      std::fprintf(stderr, "roomcast-load: a worker exited early\n");
      return false;
    }
  }
}

bool JoinAndSchedule(SharedState& shared, WorkerPool& pool, uint32_t workers, const Options& opt,
                     uint64_t deadline_ns, const char* who) {
  constexpr uint64_t kSec = 1000000000ull;
  Control& ctl = shared.Ctl();
  bool ok = WaitForStage(shared, pool, Stage::kReady, deadline_ns, true);
  const uint64_t joined = NowNs();
  uint64_t welcomed = 0;
  for (uint32_t w = 0; w < workers; ++w) welcomed += shared.Slot(w).welcomed.load();
  if (welcomed == 0) {
    std::fprintf(stderr, "roomcast-load: no %s got its welcome: not publishing\n", who);
    ok = false;
  }
  if (ok)
    std::fprintf(stderr, "roomcast-load: all joined (%llu welcomed)\n",
                 static_cast<unsigned long long>(welcomed));
  // With nothing to measure the schedule is empty: workers skip straight to their report.
  // 20 ms for every worker to see the command, plus the requested pause.
  ctl.publish_start_ns =
      joined + 20000000 + (ok ? static_cast<uint64_t>(opt.pause_before * kSec) : 0);
  ctl.measure_start_ns = ctl.publish_start_ns + (ok ? static_cast<uint64_t>(opt.warmup * kSec) : 0);
  ctl.publish_end_ns = ctl.measure_start_ns + (ok ? static_cast<uint64_t>(opt.duration * kSec) : 0);
  return ok;
}

}  // namespace roomcast::load
