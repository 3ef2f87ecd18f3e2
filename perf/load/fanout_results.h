// What the fanout and storm parents read out of the workers' slots: the merged totals and
// histograms, the deliveries the server owes (per room: acked messages x calm members), progress,
// and the latency rows both reports print. Parent process only, after the workers wrote (or while
// they run, for the progress figures, which are relaxed atomics).
#pragma once

#include <cstdint>
#include <string>

#include "histogram.h"
#include "options.h"
#include "report.h"
#include "shared_state.h"

namespace roomcast::load {

struct Merged {
  WorkerTotals t;
  Histogram latency;
  Histogram connect_time;
  Histogram calm_before, calm_during, calm_after, rejoin_time, rejoin_latency;
  uint64_t welcomed = 0, failed = 0;
  uint64_t storm_dropped = 0, rejoined = 0, rejoin_failed = 0, last_rejoin_ns = 0;
};

[[nodiscard]] Merged MergeSlots(SharedState& shared);

// Deliveries the server owes the calm connections: every measured, acked message times the calm
// members of its room.
[[nodiscard]] uint64_t ExpectedDeliveries(SharedState& shared);
// Deliveries offered to the calm connections: every measured message sent (acked or not) times
// the calm members of its room. A server carried the load when it delivered (nearly) all of them.
[[nodiscard]] uint64_t OfferedDeliveries(SharedState& shared);
// Calm connections that were receiving when publishing started.
[[nodiscard]] uint64_t CalmMembers(SharedState& shared);
// Unique measured calm deliveries so far.
[[nodiscard]] uint64_t ReceivedSoFar(SharedState& shared);
[[nodiscard]] bool AllAtStage(SharedState& shared, Stage stage);
// The longest long-poll timeoutMs any worker's viewers were told so far (0 for other transports).
[[nodiscard]] uint64_t MaxPollWaitMs(SharedState& shared);

// The "connections" rows fanout, storm and publish share: welcomed, failed (and by stage), closed
// during the run, the time to join all (join_s) and the connect-to-welcome percentiles.
void AddJoinRows(Report& r, const Merged& m, double join_s);

// Rows <prefix>_samples, _p50_ms, _p90_ms, _p99_ms, _p999_ms, _max_ms, _mean_ms.
void AddLatency(Report& r, const std::string& prefix, const Histogram& h);

// --transport longpoll or sse: the HTTP viewers' rows (nothing for ws). run: the whole run;
// window: the measured window, whose request rate is over duration_s.
void AddHttpViewerRows(Report& r, Transport transport, const HttpViewerCounters& run,
                       const HttpViewerCounters& window, double duration_s);

}  // namespace roomcast::load
