// Forked worker processes: each runs one function with its index and _exit()s with its result.
// The parent is the only one that starts, waits for and (past the deadline) kills them, and only
// by the pids it got from fork().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace roomcast::load {

class WorkerPool {
 public:
  // Forks n workers running body(index); returns false if a fork failed (those already
  // started are killed and reaped).
  [[nodiscard]] bool Start(uint32_t n, const std::function<int(uint32_t)>& body);
  // Reaps workers until all have exited or deadline_ns (CLOCK_MONOTONIC) passes; the ones still
  // running then are sent SIGKILL and reaped. Returns how many exited with status 0.
  uint32_t WaitAll(uint64_t deadline_ns);
  // True once a worker has exited with a non-zero status or a signal (it crashed or could not
  // run): the parent should stop waiting on it. A worker that finished normally is not counted.
  [[nodiscard]] bool AnyFailed();
  // SIGKILLs every worker not yet reaped (used on the parent's own error paths).
  void KillAll();

 private:
  std::vector<pid_t> pids_;
  std::vector<int> status_;  // -1 while running
};

}  // namespace roomcast::load
