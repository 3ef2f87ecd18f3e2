// The publish scenario inside one worker process: its share of publishers and nothing else.
//
// Publisher j (0 <= j < P) belongs to worker j % W, joins room load-(j % R) as user p<j> and,
// after its welcome, sends {"op":"send"} frames (the fanout stamp as text, cid "p<j>-<counter>").
// Each keeps at most --window sends unanswered (ack_window.h). Without --rate a publisher sends
// whenever its window has room; with --rate the global schedule of fanout says when a send is due
// (message g by publisher g % P at start + g / rate) and a due send waits while its window is
// full. Every ack is matched to its send by cid for the send-to-ack latency; the room's msg frames
// that come back (the publishers' own included) are only counted.
// Runs on the worker's only thread; reports through its SharedState slot (the latency histogram
// is WorkerSlot::latency).
#pragma once

#include <cstdint>

#include "options.h"
#include "shared_state.h"

namespace roomcast::load {

// Runs worker `index` of the publish scenario to completion; returns its exit status.
[[nodiscard]] int RunPublishWorker(const Options& opt, SharedState* shared, uint32_t index,
                                   uint64_t hard_deadline_ns);

}  // namespace roomcast::load
