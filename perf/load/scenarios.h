// The parent side of each scenario: fork the workers, drive the phases through SharedState,
// read the server's /proc figures at the right moments, merge the workers' results and print
// the report. Called once from main(); returns the process exit status (0: the run completed,
// whatever the figures say; 1: it could not run).
#pragma once

#include <cstdint>

#include "options.h"
#include "shared_state.h"
#include "worker_pool.h"

namespace roomcast::load {

[[nodiscard]] int RunFanout(const Options& opt);
[[nodiscard]] int RunConnect(const Options& opt);
[[nodiscard]] int RunStorm(const Options& opt);
[[nodiscard]] int RunPublish(const Options& opt);

class StormWatch;
// The fanout run, with the storm's additions when storm is not null (RunStorm).
[[nodiscard]] int RunFanoutScenario(const Options& opt, StormWatch* storm);

// Worker processes for this run: --workers, or one per 16000 connections; 0 if the descriptor
// limit cannot hold a worker's share (with a message on stderr).
[[nodiscard]] uint32_t ChooseWorkers(const Options& opt);

// Sleeps in short steps until until_ns, or until a worker fails (returns false then).
[[nodiscard]] bool SleepWatching(WorkerPool& pool, uint64_t until_ns);

// Waits until every worker slot reached `stage`; false if a worker exited or the deadline
// passed. Prints a progress line to stderr about once a second when `progress` is set.
[[nodiscard]] bool WaitForStage(SharedState& shared, WorkerPool& pool, Stage stage,
                                uint64_t deadline_ns, bool progress);

// The common start of fanout and publish: waits until every worker has joined (Stage::kReady),
// checks that at least one connection got its welcome (`who` names them in the message), and
// writes the publish schedule (start 20 ms from now, warm-up, measured window) into the control
// block; the caller then sends Command::kGo. A failed start leaves an empty schedule (workers
// skip to their report) and returns false.
[[nodiscard]] bool JoinAndSchedule(SharedState& shared, WorkerPool& pool, uint32_t workers,
                                   const Options& opt, uint64_t deadline_ns, const char* who);

}  // namespace roomcast::load
