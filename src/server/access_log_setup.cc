#include "access_log_setup.h"

#include <cstdio>

#include "base/log.h"

namespace roomcast::server {

bool OpenAccessLog(const Config& cfg, ServerShared* shared) {
  if (cfg.access_log.empty()) return true;
  std::string error;
  std::shared_ptr<const AccessLogFile> file = AccessLogFile::Open(cfg.access_log, &error);
  if (!file) {
    RC_ERROR(-1, "--access-log %s", error.c_str());
    return false;
  }
  RC_INFO(-1, "access log: %s (reopened at SIGHUP)", cfg.access_log.c_str());
  const std::shared_ptr<const LiveSettings> live = shared->live.load();
  shared->live.store(std::make_shared<const LiveSettings>(
      LiveSettings{live->admin_key, live->cors_origins, std::move(file)}));
  return true;
}

std::shared_ptr<const AccessLogFile> ReopenAccessLog(const std::string& path,
                                                     std::shared_ptr<const AccessLogFile> current) {
  if (path.empty()) return nullptr;
  std::string error;
  std::shared_ptr<const AccessLogFile> file = AccessLogFile::Open(path, &error);
  if (!file) {
    RC_ERROR(-1, "reload: cannot reopen the access log %s; still writing to the file open before",
             error.c_str());
    return current;
  }
  RC_INFO(-1, "reload: access log %s reopened", path.c_str());
  return file;
}

void AppendAccessLogMetrics(std::string* out, const ServerShared& shared) {
  struct Family {
    const char* name;
    const char* help;
    std::atomic<uint64_t> ShardMetrics::*field;
  };
  static constexpr Family kFamilies[] = {
      {"roomcast_access_log_write_errors_total", "Access log writes that failed (retried)",
       &ShardMetrics::access_log_write_errors_total},
      {"roomcast_access_log_dropped_total",
       "Access log lines dropped: over the 1 MiB a shard keeps while writes fail",
       &ShardMetrics::access_log_dropped_total},
  };
  char line[160];
  for (const Family& f : kFamilies) {
    *out += "# HELP ";
    *out += f.name;
    *out += ' ';
    *out += f.help;
    *out += "\n# TYPE ";
    *out += f.name;
    *out += " counter\n";
    for (int i = 0; i < shared.shards; ++i) {
      const uint64_t v =
          (shared.metrics[static_cast<size_t>(i)].*f.field).load(std::memory_order_relaxed);
      std::snprintf(line, sizeof(line), "%s{shard=\"%d\"} %llu\n", f.name, i,
                    static_cast<unsigned long long>(v));
      *out += line;
    }
  }
}

}  // namespace roomcast::server
