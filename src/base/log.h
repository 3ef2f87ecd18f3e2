// Logging: one line per event on stderr, with time, level and shard, as text or as one JSON
// object (--log-format). Under journald (stderr is the stream named by $JOURNAL_STREAM) each line
// starts with its syslog priority, "<6>" for info, and text lines leave the time to journald.
// Any thread; a line is written with one write() so lines from different shards never
// interleave.
#pragma once

#include <cstdarg>

#include "base/config.h"

namespace roomcast {

// Level and format, and whether stderr goes to journald (read from the environment once).
void ConfigureLog(LogLevel level, LogFormat format);
void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
[[nodiscard]] LogFormat CurrentLogFormat();  // as set last (the access log follows it)
[[nodiscard]] bool LogEnabled(LogLevel level);
void Logf(LogLevel level, int shard, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

// The syslog priority of a level (debug 7, info 6, warn 4, error 3).
[[nodiscard]] int SyslogPriority(LogLevel level);

#define RC_LOG(level, shard, ...)                                                   \
  do {                                                                              \
    if (::roomcast::LogEnabled(level)) ::roomcast::Logf(level, shard, __VA_ARGS__); \
  } while (0)
#define RC_INFO(shard, ...) RC_LOG(::roomcast::LogLevel::kInfo, shard, __VA_ARGS__)
#define RC_WARN(shard, ...) RC_LOG(::roomcast::LogLevel::kWarn, shard, __VA_ARGS__)
#define RC_ERROR(shard, ...) RC_LOG(::roomcast::LogLevel::kError, shard, __VA_ARGS__)
#define RC_DEBUG(shard, ...) RC_LOG(::roomcast::LogLevel::kDebug, shard, __VA_ARGS__)

}  // namespace roomcast
