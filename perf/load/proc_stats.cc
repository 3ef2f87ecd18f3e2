// /proc parsing for proc_stats.h.
#include "proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace roomcast::load {

namespace {

// Reads "Key:   123 kB" from a /proc file whose lines look like that.
long long ReadKbField(const char* path, const char* key) {
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  const size_t klen = std::strlen(key);
  long long kb = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
      std::sscanf(line + klen + 1, "%lld", &kb);
      break;
    }
  }
  std::fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  if (pid <= 0) return -1;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return -1;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name may hold spaces and parentheses: fields restart after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  // After ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15).
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return -1;
  }
  const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100);
}

long long ProcessRssBytes(pid_t pid) {
  if (pid <= 0) return -1;
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  return ReadKbField(path.c_str(), "VmRSS");
}

long long ProcessPssBytes(pid_t pid) {
  if (pid <= 0) return -1;
  const std::string path = "/proc/" + std::to_string(pid) + "/smaps_rollup";
  return ReadKbField(path.c_str(), "Pss");
}

double ProcessesCpuSeconds(const std::vector<int>& pids) {
  if (pids.empty()) return -1;
  double sum = 0;
  for (int pid : pids) {
    const double s = ProcessCpuSeconds(pid);
    if (s < 0) return -1;
    sum += s;
  }
  return sum;
}

namespace {
long long SumBytes(const std::vector<int>& pids, long long (*one)(pid_t)) {
  if (pids.empty()) return -1;
  long long sum = 0;
  for (int pid : pids) {
    const long long b = one(pid);
    if (b < 0) return -1;
    sum += b;
  }
  return sum;
}
}  // namespace

long long ProcessesRssBytes(const std::vector<int>& pids) {
  return SumBytes(pids, ProcessRssBytes);
}

long long ProcessesPssBytes(const std::vector<int>& pids) {
  return SumBytes(pids, ProcessPssBytes);
}

long long KernelSlabBytes() { return ReadKbField("/proc/meminfo", "Slab"); }

double RusageCpuSeconds(int who) {
  rusage ru{};
  if (getrusage(who, &ru) != 0) return -1;
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

long RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<long>(rl.rlim_cur);
}

}  // namespace roomcast::load
