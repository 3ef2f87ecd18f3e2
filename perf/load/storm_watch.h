// The storm scenario's parent-side additions to the fanout run: it schedules the storm (the
// instant every worker drops its storm group), watches the rejoins until every dropped viewer is
// welcomed again or given up on, then publishes that instant to the workers (Control::whole_ns:
// calm deliveries sent before it count as "during the storm", later ones as "after"), and adds the
// storm's rows to the report. Parent process only; Check() is called about once a millisecond.
#pragma once

#include <cstdint>
#include <vector>

#include "fanout_results.h"
#include "options.h"
#include "report.h"
#include "shared_state.h"

namespace roomcast::load {

class StormWatch {
 public:
  explicit StormWatch(const Options& opt) : opt_(opt) {}

  // Sets Control::storm_at_ns to measure_start + --storm-at (before the workers get kGo).
  void Schedule(Control& ctl, uint64_t measure_start_ns);
  // Notices the end of the storm: every worker dropped its group and every dropped viewer has
  // rejoined or failed. Reads the server's CPU at the storm and at its end.
  void Check(SharedState& shared);
  // True once the storm is over (whole again, or every rejoin resolved).
  [[nodiscard]] bool Settled() const { return whole_ns_ != 0; }

  // The "storm" section (after the connections) and the calm latency sections.
  void AddStormRows(Report& r, const Merged& m) const;
  void AddLatencyRows(Report& r, const Merged& m) const;

 private:
  const Options& opt_;
  uint64_t storm_at_ns_ = 0;
  uint64_t whole_ns_ = 0;  // the last rejoin's welcome (or the storm itself if none rejoined)
  double cpu_at_storm_ = -1;
  double cpu_at_whole_ = -1;
};

}  // namespace roomcast::load
