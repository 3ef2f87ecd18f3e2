// The main thread while the shards run: it waits for signals (blocked in every thread, taken
// here with sigtimedwait), feeds the systemd watchdog from the shards' heartbeats, reloads on
// SIGHUP and drains in two steps on SIGTERM or SIGINT:
//   1. notice: STOPPING=1 to systemd, /readyz answers 503 and everything else is served as
//      before, for --drain-notice-secs, so that load balancers take the node out of rotation;
//   2. stop: every shard closes its listener, says bye to its viewers and stops within
//      --drain-secs. A second SIGTERM/SIGINT during the notice skips to this step.
// Main thread only.
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/config.h"
#include "server_shared.h"
#include "service/notify.h"

namespace roomcast::server {

class Shard;

struct SupervisedShards {
  ServerShared* shared;
  std::vector<std::unique_ptr<Shard>>* shards;
  std::vector<std::thread>* threads;
};

// Runs until the drain is over and every shard thread has been joined. `reload` is called on
// SIGHUP.
void Supervise(const Config& cfg, const sigset_t& signals, SupervisedShards s, Notifier* notifier,
               const std::function<void()>& reload);

}  // namespace roomcast::server
