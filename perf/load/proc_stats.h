// Readings from /proc and getrusage: the server's CPU and memory, the kernel's slab, our own CPU.
// Any thread; every reader returns a negative value when the figure cannot be read.
#pragma once

#include <sys/types.h>

namespace roomcast::load {

// utime + stime of a process from /proc/PID/stat, in seconds.
[[nodiscard]] double ProcessCpuSeconds(pid_t pid);
// VmRSS of a process from /proc/PID/status, in bytes.
[[nodiscard]] long long ProcessRssBytes(pid_t pid);
// Slab: from /proc/meminfo (kernel objects: sockets, TCP buffers' bookkeeping...), in bytes.
[[nodiscard]] long long KernelSlabBytes();
// user + system CPU of this process (who = RUSAGE_SELF) or of its waited-for children.
[[nodiscard]] double RusageCpuSeconds(int who);
// Raises RLIMIT_NOFILE's soft limit to the hard one; returns the resulting soft limit.
long RaiseFileLimit();

}  // namespace roomcast::load
