#include "service/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace roomcast::server {

namespace {

void Family(std::string* out, const char* name, const char* type, const char* help, double value) {
  char line[512];
  std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
                type, name, value);
  *out += line;
}

// /proc/self/statm: sizes in pages (total program size, resident, ...).
bool ReadStatm(double* virt_bytes, double* rss_bytes) {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return false;
  unsigned long long size = 0, resident = 0;
  const bool ok = std::fscanf(f, "%llu %llu", &size, &resident) == 2;
  std::fclose(f);
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  *virt_bytes = static_cast<double>(size) * page;
  *rss_bytes = static_cast<double>(resident) * page;
  return ok;
}

// Open descriptors (io_uring direct descriptors are not among them: see docs/operations.md).
long CountOpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  long n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

}  // namespace

void AppendProcessMetrics(std::string* out, double start_unix_s) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  Family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.",
         cpu);
  double virt = 0, rss = 0;
  if (ReadStatm(&virt, &rss)) {
    Family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss);
    Family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virt);
  }
  if (const long fds = CountOpenFds(); fds >= 0) {
    Family(out, "process_open_fds", "gauge", "Number of open file descriptors.",
           static_cast<double>(fds));
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    Family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
           static_cast<double>(rl.rlim_cur));
  }
  Family(out, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", start_unix_s);
}

}  // namespace roomcast::server
