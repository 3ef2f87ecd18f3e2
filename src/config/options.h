// The settings table itself (config.cc reads and writes settings through it): each flag's name,
// kind, bounds and help text, pointing into a Config. Internal to config/.
#pragma once

#include <cstdint>
#include <vector>

#include "base/config.h"

namespace roomcast::config_options {

enum class Kind {
  kU32,
  kU16,
  kInt,
  kBool,
  kString,
  kListen,
  kSlowPolicy,
  kLogLevel,
  kLogFormat,
  kFsync,
  kRate  // Config::RateLimit: "N/S" or off
};

struct Option {
  const char* name;
  Kind kind;
  void* target;
  uint64_t min;
  uint64_t max;
  const char* help;
};

// Every setting, pointing into *c, in --help order: connections, rooms and transports first,
// then what is kept across restarts and how the server is operated (OperationOptions).
std::vector<Option> Options(Config* c);
std::vector<Option> OperationOptions(Config* c);
std::vector<Option> ClusterOptions(Config* c);

}  // namespace roomcast::config_options
