// Where settings come from: the config file (name = value lines, the flags' names), then
// ROOMCAST_<NAME> environment variables, then the command line; each source overrides the one
// before. --check-config reports the result and exits.
#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "base/config.h"
#include "config/config_table.h"

namespace roomcast {

namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

struct Sources {
  std::string path = kDefaultConfigPath;
  bool path_given = false;
  bool check = false;
  int from_file = 0;
  int from_env = 0;
};

// Finds --config PATH and --check-config among the flags (the other flags come later).
bool ScanConfigFlags(int argc, char** argv, Sources* src, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--check-config") {
      src->check = true;
    } else if (arg == "--config") {
      if (i + 1 >= argc) {
        *error = "--config needs a value (a file, or '' for none)";
        return false;
      }
      src->path = argv[++i];
      src->path_given = true;
    } else if (arg.substr(0, 9) == "--config=") {
      src->path = std::string(arg.substr(9));
      src->path_given = true;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// One "name = value" line (or a bare boolean name); false with *error.
bool ApplyLine(std::string_view line, const std::string& where, Config* c,
               std::map<std::string, std::string>* seen, std::string* error) {
  const size_t eq = line.find('=');
  const std::string name(Trim(line.substr(0, eq)));
  std::string_view value = eq == std::string_view::npos ? "" : Trim(line.substr(eq + 1));
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  if (eq == std::string_view::npos) {
    if (!IsBooleanSetting(name)) {
      *error = where + ": expected 'name = value', got '" + std::string(line) + "'";
      return false;
    }
    value = "on";
  }
  if (auto it = seen->find(name); it != seen->end()) {
    *error = where + ": " + name + " is set twice (first at " + it->second + ")";
    return false;
  }
  std::string why;
  switch (SetSetting(c, name, value, &why)) {
    case SetOutcome::kOk:
      (*seen)[name] = where;
      return true;
    case SetOutcome::kUnknownName:
      *error = where + ": unknown setting '" + name + "' (the names are the flags' without --)";
      return false;
    case SetOutcome::kBadValue:
      *error = where + ": " + name + " = " + std::string(value) + ": " + why;
      return false;
  }
  return false;
}

bool ReadConfigFile(Sources* src, Config* c, std::string* error) {
  if (src->path.empty()) return true;
  struct stat st {};
  if (stat(src->path.c_str(), &st) != 0) {
    if (!src->path_given) return true;  // the default file is optional
    *error = "config file " + src->path + ": cannot be read (no such file?)";
    return false;
  }
  if (!S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxConfigBytes) {
    *error = "config file " + src->path + ": not a regular file of at most 1 MiB";
    return false;
  }
  std::ifstream in(src->path);
  if (!in) {
    *error = "config file " + src->path + ": cannot be opened (permissions?)";
    return false;
  }
  std::map<std::string, std::string> seen;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string_view t = Trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (!ApplyLine(t, src->path + ":" + std::to_string(n), c, &seen, error)) return false;
    ++src->from_file;
  }
  return true;
}

// ROOMCAST_<NAME> for every setting (an empty variable counts as unset).
bool ApplyEnvironment(Sources* src, Config* c, std::string* error) {
  for (const auto& [name, _] : SettingValues(Config{})) {
    std::string var = "ROOMCAST_";
    for (char ch : name) var += ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
    const char* v = std::getenv(var.c_str());
    if (!v || !*v) continue;
    std::string why;
    if (SetSetting(c, name, v, &why) != SetOutcome::kOk) {
      const bool secret = name == "admin-key" || name == "cursor-key";
      *error = var + "=" + (secret ? "<set>" : std::string(v)) + ": " + why;
      return false;
    }
    ++src->from_env;
  }
  return true;
}

bool Load(int argc, char** argv, Config* cfg, Sources* src, std::string* error,
          ParseOutcome* flags) {
  *flags = ParseOutcome::kRun;
  if (!ScanConfigFlags(argc, argv, src, error) || !ReadConfigFile(src, cfg, error) ||
      !ApplyEnvironment(src, cfg, error)) {
    return false;
  }
  *flags = ApplyFlags(argc, argv, cfg, error);
  if (*flags != ParseOutcome::kRun) return false;
  *error = ValidateSettings(*cfg);
  return error->empty();
}

}  // namespace

bool LoadConfig(int argc, char** argv, Config* cfg, std::string* error) {
  Sources src;
  ParseOutcome flags;
  return Load(argc, argv, cfg, &src, error, &flags);
}

ParseOutcome ParseCommandLine(int argc, char** argv, Config* cfg) {
  Sources src;
  ParseOutcome flags;
  std::string error;
  const bool ok = Load(argc, argv, cfg, &src, &error, &flags);
  if (flags == ParseOutcome::kExitOk) return flags;  // --help or --version
  if (!ok) {
    std::fprintf(stderr, "roomcast: %s\n", error.c_str());
    return src.check ? ParseOutcome::kExitInvalid : ParseOutcome::kExitUsage;
  }
  if (!src.check) return ParseOutcome::kRun;
  std::printf(
      "# roomcast %s: configuration OK (config file: %s; %d settings from it, %d from "
      "ROOMCAST_* variables)\n",
      kVersion, src.path.empty() ? "none" : src.path.c_str(), src.from_file, src.from_env);
  for (const auto& [name, value] : SettingValues(*cfg)) {
    std::printf("%s = %s\n", name.c_str(), value.c_str());
  }
  return ParseOutcome::kExitOk;
}

}  // namespace roomcast
