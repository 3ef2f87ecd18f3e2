// The fanout and storm scenarios inside one worker process: its share of viewers and publishers,
// the paced publishing schedule, and the per-frame checks (stamp, order, loss, latency).
//
// Shares: viewer v (0 <= v < V) belongs to worker v % W and room v % R; publisher j belongs to
// worker j % W and room j % R. The schedule is global: the g-th message (g = 0, 1, ...) is sent
// by publisher g % P at publish_start + g / rate, so the total rate is paced evenly whatever the
// number of workers. Runs on the worker's only thread; reports through its SharedState slot.
//
// Targets: roomcast (WebSocket join, publish and acks on the same connection; publishers receive
// too) or nchan (WebSocket subscriptions that are joined on their 101, HTTP POST publishers that
// receive nothing; see nchan_wire.h).
// Transports (roomcast only): with --transport longpoll or sse the viewers read over HTTP
// (http_viewers.h) and their message objects get the same checks; publishers stay WebSocket.
//
// Storm: at Control::storm_at_ns the worker closes every open connection of its storm-group
// viewers at once (no close frame: FIN) and reopens them right away, at most --storm-inflight
// connecting at a time. Only "calm" connections count for loss and the latency histograms: in
// fanout every receiving connection; in storm every receiving connection outside the storm group
// and (default grouping) outside the storm rooms.
#pragma once

#include <cstdint>

#include "fanout_plan.h"
#include "options.h"
#include "shared_state.h"

namespace roomcast::load {

// Runs worker `index` of the fanout or storm scenario to completion; returns its exit status.
[[nodiscard]] int RunFanoutWorker(const Options& opt, SharedState* shared, uint32_t index,
                                  uint64_t hard_deadline_ns);

// Connections opened at once per worker while joining (bounds the server's accept backlog).
inline constexpr uint32_t kMaxOpensInFlight = 256;

// Storm grouping and worker placement: fanout_plan.h.

}  // namespace roomcast::load
