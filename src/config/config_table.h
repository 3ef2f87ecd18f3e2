// The settings table of config.cc as the config file, the environment and SIGHUP reload see it:
// settings by the names of their flags (without "--"). Any thread; no state.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/config.h"

namespace roomcast {

enum class SetOutcome { kOk, kUnknownName, kBadValue };

// Sets one setting from its text form (as on the command line); kBadValue with *why.
[[nodiscard]] SetOutcome SetSetting(Config* c, std::string_view name, std::string_view value,
                                    std::string* why);
// A setting that a bare "--name" switches on.
[[nodiscard]] bool IsBooleanSetting(std::string_view name);
// Every setting as (name, value in --help form; keys shown as <set>), in --help order.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> SettingValues(const Config& c);
// The checks no single setting's bounds express; "" when all is well, else the first problem.
[[nodiscard]] std::string ValidateSettings(const Config& c);
// Applies the command-line flags over *c (--config and --check-config are skipped here: see
// config_file.h). Prints --help / --version (kExitOk); kExitUsage with *error.
[[nodiscard]] ParseOutcome ApplyFlags(int argc, char** argv, Config* c, std::string* error);

}  // namespace roomcast
