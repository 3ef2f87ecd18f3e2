// The process_* series every Prometheus client library exports (CPU seconds, resident and virtual
// memory, open and allowed descriptors, start time), read from getrusage, /proc/self and
// getrlimit when /metrics is scraped. Any thread.
#pragma once

#include <string>

namespace roomcast::server {

// Appends the process_* families (HELP, TYPE and one sample each) to *out.
// start_unix_s: when the process started (seconds since the epoch).
void AppendProcessMetrics(std::string* out, double start_unix_s);

}  // namespace roomcast::server
