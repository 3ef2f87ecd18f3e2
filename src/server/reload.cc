#include "reload.h"

#include <memory>
#include <string>

#include "access_log_setup.h"
#include "base/log.h"
#include "config/config_table.h"
#include "user_token_keys.h"

namespace roomcast::server {

namespace {

bool IsLive(const std::string& name) {
  return name == "log-level" || name == "log-format" || name == "admin-key" ||
         name == "cors-origins" || name == "rate-limit" || name == "mod-rate-limit" ||
         name == "unique-window-secs" || name == "react-rate-limit";
}

// Logs each changed setting: applied (the live ones) or left until a restart.
int ReportChanges(const Config& running, const Config& fresh, int* restart_needed) {
  const auto before = SettingValues(running);
  const auto after = SettingValues(fresh);
  int applied = 0;
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    const std::string& name = before[i].first;
    const bool key_changed = name == "admin-key" && running.admin_key != fresh.admin_key;
    if (before[i].second == after[i].second && !key_changed) continue;
    if (name == "cursor-key" && running.cursor_key == fresh.cursor_key) continue;
    if (name == "jwt-secret-file" || name == "jwt-public-key-file") continue;  // ReloadTokenKeys
    const bool secret = name == "admin-key" || name == "cursor-key";
    if (IsLive(name)) {
      ++applied;
      if (secret) {
        RC_INFO(-1, "reload: %s changed", name.c_str());
      } else {
        RC_INFO(-1, "reload: %s %s -> %s", name.c_str(), before[i].second.c_str(),
                after[i].second.c_str());
      }
    } else {
      ++*restart_needed;
      RC_WARN(-1, "reload: %s cannot change while running: still %s until a restart (new: %s)",
              name.c_str(), secret ? "<set>" : before[i].second.c_str(),
              secret ? "<set>" : after[i].second.c_str());
    }
  }
  return applied;
}

}  // namespace

void ReloadConfig(Config* running, const ConfigLoader& load, ServerShared* shared) {
  RC_INFO(-1, "received SIGHUP: reloading the settings");
  Config fresh;
  std::string error;
  if (!load(&fresh, &error)) {
    RC_ERROR(-1, "reload: the settings are not valid, nothing changed: %s", error.c_str());
    return;
  }
  int restart_needed = 0;
  int applied = ReportChanges(*running, fresh, &restart_needed);
  if (ReloadTokenKeys(fresh, shared) > 0) {
    ++applied;
    running->jwt_secret_file = fresh.jwt_secret_file;
    running->jwt_public_key_file = fresh.jwt_public_key_file;
  }
  running->log_level = fresh.log_level;
  running->log_format = fresh.log_format;
  running->admin_key = fresh.admin_key;
  running->cors_origins = fresh.cors_origins;
  running->rate_limit = fresh.rate_limit;
  running->mod_rate_limit = fresh.mod_rate_limit;
  running->unique_window_secs = fresh.unique_window_secs;
  running->react_rate_limit = fresh.react_rate_limit;
  SetLogLevel(running->log_level);
  SetLogFormat(running->log_format);
  shared->live.store(std::make_shared<const LiveSettings>(LiveSettings::Of(
      *running, ReopenAccessLog(running->access_log, shared->live.load()->access_log))));
  shared->live_generation.fetch_add(1, std::memory_order_release);
  RC_INFO(-1, "reload done: %d settings applied, %d need a restart", applied, restart_needed);
}

}  // namespace roomcast::server
