// The storm scenario: the fanout run (scenario_fanout.cc) with a StormWatch.
#include <algorithm>
#include <cstdio>
#include <string>

#include "fanout_worker.h"
#include "proc_stats.h"
#include "scenarios.h"
#include "storm_watch.h"

namespace roomcast::load {

namespace {
constexpr uint64_t kSec = 1000000000ull;
}  // namespace

void StormWatch::Schedule(Control& ctl, uint64_t measure_start_ns) {
  storm_at_ns_ = measure_start_ns + static_cast<uint64_t>(opt_.storm_at * kSec);
  ctl.storm_at_ns = storm_at_ns_;
}

void StormWatch::Check(SharedState& shared) {
  if (whole_ns_ != 0 || storm_at_ns_ == 0) return;
  const uint64_t now = NowNs();
  if (now < storm_at_ns_) return;
  if (cpu_at_storm_ < 0) cpu_at_storm_ = ProcessesCpuSeconds(opt_.server_pids);
  uint64_t dropped = 0, rejoined = 0, failed = 0, last = storm_at_ns_;
  for (uint32_t w = 0; w < shared.Workers(); ++w) {
    WorkerSlot& s = shared.Slot(w);
    if (!s.stormed.load(std::memory_order_acquire)) return;
    dropped += s.storm_dropped.load(std::memory_order_relaxed);
    rejoined += s.rejoined.load(std::memory_order_relaxed);
    failed += s.rejoin_failed.load(std::memory_order_relaxed);
    last = std::max(last, s.last_rejoin_ns.load(std::memory_order_relaxed));
  }
  if (rejoined + failed < dropped) return;
  // Whole again at the last welcome; with failures, the storm ends when the last one gave up.
  whole_ns_ = failed ? now : last;
  shared.Ctl().whole_ns.store(last, std::memory_order_relaxed);
  cpu_at_whole_ = ProcessesCpuSeconds(opt_.server_pids);
}

void StormWatch::AddStormRows(Report& r, const Merged& m) const {
  r.Section("storm");
  const uint32_t storm_rooms = StormRooms(opt_);
  if (storm_rooms > 0) {
    r.Text("storm_group", "storm group",
           "every viewer of rooms load-0..load-" + std::to_string(storm_rooms - 1));
  } else {
    char b[96];
    std::snprintf(b, sizeof b, "%.3g of every room's viewers", opt_.storm_fraction);
    r.Text("storm_group", "storm group", b);
  }
  r.Num("storm_at_s", "storm at (into the measurement)", opt_.storm_at, "s", 2);
  r.Int("storm_viewers", "viewers in the storm group", static_cast<long long>(m.t.storm_viewers));
  r.Int("storm_dropped", "dropped at the storm (were open)",
        static_cast<long long>(m.storm_dropped));
  r.Int("rejoined", "welcomed again", static_cast<long long>(m.rejoined));
  r.Int("rejoin_failed", "rejoins failed", static_cast<long long>(m.rejoin_failed));
  for (int i = 0; i < kFailStages; ++i) {
    if (!m.t.rejoin_failed_by_stage[i]) continue;
    const std::string name = FailStageName(static_cast<FailStage>(i));
    r.Int("rejoin_failed_" + name, "  of which at " + name,
          static_cast<long long>(m.t.rejoin_failed_by_stage[i]));
  }
  const uint64_t pending =
      m.storm_dropped - std::min(m.storm_dropped, m.rejoined + m.rejoin_failed);
  r.Int("rejoin_pending", "rejoins unresolved at the end", static_cast<long long>(pending));
  r.Int("rejoined_closed", "rejoined, then closed by the server",
        static_cast<long long>(m.t.rejoined_closed));
  const double storm_s = whole_ns_ ? static_cast<double>(whole_ns_ - storm_at_ns_) / 1e9 : -1;
  if (whole_ns_ && m.rejoin_failed == 0) {
    r.Num("whole_again_s", "whole again after", storm_s, "s", 3);
    if (storm_s > 0) r.Num("rejoin_rate", "rejoin rate", m.rejoined / storm_s, "/s", 0);
  } else {
    r.Missing("whole_again_s", "whole again after (not every viewer came back)");
  }
  if (whole_ns_) r.Num("storm_resolved_s", "every rejoin resolved after", storm_s, "s", 3);
  r.Num("rejoin_p50_ms", "rejoin connect to welcome p50", m.rejoin_time.ValueAt(0.5) * 1e-6, "ms",
        2);
  r.Num("rejoin_p99_ms", "rejoin connect to welcome p99", m.rejoin_time.ValueAt(0.99) * 1e-6, "ms",
        2);
  r.Num("rejoin_max_ms", "rejoin connect to welcome max", m.rejoin_time.Max() * 1e-6, "ms", 2);
  if (cpu_at_storm_ >= 0 && cpu_at_whole_ >= 0) {
    r.Num("server_cpu_storm_s", "server CPU during the storm", cpu_at_whole_ - cpu_at_storm_, "s",
          3);
  }
}

void StormWatch::AddLatencyRows(Report& r, const Merged& m) const {
  r.Section("calm latency, messages sent before the storm");
  AddLatency(r, "calm_before", m.calm_before);
  r.Section("calm latency, messages sent during the storm (until whole again)");
  AddLatency(r, "calm_during", m.calm_during);
  r.Section("calm latency, messages sent after");
  AddLatency(r, "calm_after", m.calm_after);
  const uint64_t before = m.calm_before.ValueAt(0.99), during = m.calm_during.ValueAt(0.99);
  if (before > 0 && m.calm_during.Count() > 0) {
    r.Num("calm_p99_during_over_before", "p99 during / before",
          static_cast<double>(during) / static_cast<double>(before), "x", 2);
  }
  r.Section("latency of rejoined viewers (first delivery of each message)");
  AddLatency(r, "rejoin_latency", m.rejoin_latency);
}

int RunStorm(const Options& opt) {
  StormWatch watch(opt);
  return RunFanoutScenario(opt, &watch);
}

}  // namespace roomcast::load
