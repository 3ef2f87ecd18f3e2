// The access log's file (--access-log; base/access_log.h): opened at start (a path that cannot
// be opened stops the start), opened again at each SIGHUP so that a file renamed by logrotate is
// let go (a failed reopen keeps writing to the file in force and logs why), (its two counters
// are in service/metrics_text.cc). The file reaches the shards with the LiveSettings. Main thread
// only, but for RenderAccessLogMetrics (any shard answering /metrics).
#pragma once

#include <memory>
#include <string>

#include "base/access_log.h"
#include "base/config.h"
#include "server_shared.h"

namespace roomcast::server {

// At start: opens cfg.access_log (nothing when empty) into shared->live. False (logged) when it
// cannot be opened.
[[nodiscard]] bool OpenAccessLog(const Config& cfg, ServerShared* shared);

// At SIGHUP: the file the shards write to from now on: `path` opened again, or, when that fails,
// the file in force (`current`). Null when the access log is off.
[[nodiscard]] std::shared_ptr<const AccessLogFile> ReopenAccessLog(
    const std::string& path, std::shared_ptr<const AccessLogFile> current);

}  // namespace roomcast::server
