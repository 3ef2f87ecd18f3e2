// The connect scenario inside one worker process: open its share of idle viewers on a global
// schedule (connection i, 0 <= i < N, belongs to worker i % W, joins room load-(i % R) and is
// started at start + i / rate), hold them until the parent says finish, then close them all.
// Runs on the worker's only thread; reports through its SharedState slot.
#pragma once

#include <cstdint>

#include "options.h"
#include "shared_state.h"

namespace roomcast::load {

// Runs worker `index` of the connect scenario to completion; returns its exit status.
// The schedule's start is Control::publish_start_ns, set by the parent before the fork.
[[nodiscard]] int RunConnectWorker(const Options& opt, SharedState* shared, uint32_t index,
                                   uint64_t hard_deadline_ns);

}  // namespace roomcast::load
