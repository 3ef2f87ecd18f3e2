// Logging: one line per event on stderr, with time, level and shard. Any thread; a line is written
// with one write() so lines from different shards never interleave.
#pragma once

#include <cstdarg>

#include "base/config.h"

namespace roomcast {

void SetLogLevel(LogLevel level);
[[nodiscard]] bool LogEnabled(LogLevel level);
void Logf(LogLevel level, int shard, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

#define RC_LOG(level, shard, ...)                                                   \
  do {                                                                              \
    if (::roomcast::LogEnabled(level)) ::roomcast::Logf(level, shard, __VA_ARGS__); \
  } while (0)
#define RC_INFO(shard, ...) RC_LOG(::roomcast::LogLevel::kInfo, shard, __VA_ARGS__)
#define RC_WARN(shard, ...) RC_LOG(::roomcast::LogLevel::kWarn, shard, __VA_ARGS__)
#define RC_ERROR(shard, ...) RC_LOG(::roomcast::LogLevel::kError, shard, __VA_ARGS__)
#define RC_DEBUG(shard, ...) RC_LOG(::roomcast::LogLevel::kDebug, shard, __VA_ARGS__)

}  // namespace roomcast
