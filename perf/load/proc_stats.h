// Readings from /proc and getrusage: the server's CPU and memory, the kernel's slab, our own CPU.
// Any thread; every reader returns a negative value when the figure cannot be read.
#pragma once

#include <sys/types.h>

#include <vector>

namespace roomcast::load {

// utime + stime of a process from /proc/PID/stat, in seconds.
[[nodiscard]] double ProcessCpuSeconds(pid_t pid);
// VmRSS of a process from /proc/PID/status, in bytes.
[[nodiscard]] long long ProcessRssBytes(pid_t pid);
// Proportional set size (Pss: of /proc/PID/smaps_rollup), in bytes: shared pages split among the
// processes mapping them, so that sums over several processes count each page once.
[[nodiscard]] long long ProcessPssBytes(pid_t pid);
// The same summed over a server's processes (e.g. an nginx master and its workers); negative when
// the list is empty or any one of them cannot be read.
[[nodiscard]] double ProcessesCpuSeconds(const std::vector<int>& pids);
[[nodiscard]] long long ProcessesRssBytes(const std::vector<int>& pids);
[[nodiscard]] long long ProcessesPssBytes(const std::vector<int>& pids);
// Slab: from /proc/meminfo (kernel objects: sockets, TCP buffers' bookkeeping...), in bytes.
[[nodiscard]] long long KernelSlabBytes();
// user + system CPU of this process (who = RUSAGE_SELF) or of its waited-for children.
[[nodiscard]] double RusageCpuSeconds(int who);
// Raises RLIMIT_NOFILE's soft limit to the hard one; returns the resulting soft limit.
long RaiseFileLimit();

}  // namespace roomcast::load
