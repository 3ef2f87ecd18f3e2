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
  LiveSettings live = *shared->live.load();
  live.access_log = std::move(file);
  shared->live.store(std::make_shared<const LiveSettings>(std::move(live)));
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

}  // namespace roomcast::server
