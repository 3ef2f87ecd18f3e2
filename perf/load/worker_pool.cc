// fork / waitpid bookkeeping for worker_pool.h.
#include "worker_pool.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "uring_client.h"

namespace roomcast::load {

bool WorkerPool::Start(uint32_t n, const std::function<int(uint32_t)>& body) {
  const pid_t parent = getpid();
  for (uint32_t i = 0; i < n; ++i) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
      std::fprintf(stderr, "roomcast-load: fork: %s\n", std::strerror(errno));
      KillAll();
      WaitAll(NowNs() + 2000000000ull);
      return false;
    }
    if (pid == 0) {
      // A worker must not outlive a parent that was killed (e.g. by a suite's timeout): it would
      // hold its connections until its own deadline.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(3);  // the parent is already gone
      _exit(body(i));
    }
    pids_.push_back(pid);
    status_.push_back(-1);
  }
  return true;
}

bool WorkerPool::AnyFailed() {
  bool failed = false;
  for (size_t i = 0; i < pids_.size(); ++i) {
    int st = 0;
    if (status_[i] == -1 && waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
      status_[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (status_[i] != 0) {
        std::fprintf(stderr, "roomcast-load: worker %zu (pid %d) ended with status %d\n", i,
                     static_cast<int>(pids_[i]), status_[i]);
      }
    }
    failed = failed || (status_[i] != -1 && status_[i] != 0);
  }
  return failed;
}

uint32_t WorkerPool::WaitAll(uint64_t deadline_ns) {
  for (;;) {
    bool running = false;
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (status_[i] != -1) continue;
      int st = 0;
      const pid_t r = waitpid(pids_[i], &st, WNOHANG);
      if (r == pids_[i]) {
        status_[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      } else if (r < 0 && errno == ECHILD) {
        status_[i] = 255;
      } else {
        running = true;
      }
    }
    if (!running) break;
    if (NowNs() >= deadline_ns) {
      std::fprintf(stderr, "roomcast-load: workers past the deadline: killing them\n");
      KillAll();
      for (size_t i = 0; i < pids_.size(); ++i) {
        if (status_[i] != -1) continue;
        int st = 0;
        waitpid(pids_[i], &st, 0);
        status_[i] = 128 + SIGKILL;
      }
      break;
    }
    const timespec ts{0, 5000000};
    nanosleep(&ts, nullptr);
  }
  uint32_t ok = 0;
  for (int s : status_) ok += s == 0 ? 1 : 0;
  return ok;
}

void WorkerPool::KillAll() {
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (status_[i] == -1) kill(pids_[i], SIGKILL);
  }
}

}  // namespace roomcast::load
