// The fanout scenario inside one worker process: its share of viewers and publishers, the paced
// publishing schedule, and the per-frame checks (stamp, order, loss, latency).
//
// Shares: viewer v (0 <= v < V) belongs to worker v % W and room v % R; publisher j belongs to
// worker j % W and room j % R. The schedule is global: the g-th message (g = 0, 1, ...) is sent
// by publisher g % P at publish_start + g / rate, so the total rate is paced evenly whatever the
// number of workers. Runs on the worker's only thread; reports through its SharedState slot.
#pragma once

#include <cstdint>

#include "options.h"
#include "shared_state.h"

namespace roomcast::load {

// Runs worker `index` of the fanout scenario to completion; returns its exit status.
[[nodiscard]] int RunFanoutWorker(const Options& opt, SharedState* shared, uint32_t index,
                                  uint64_t hard_deadline_ns);

// Connections opened at once per worker while joining (bounds the server's accept backlog).
inline constexpr uint32_t kMaxOpensInFlight = 256;

}  // namespace roomcast::load
