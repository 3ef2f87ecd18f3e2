// roomcast: read the settings (config file, environment, flags), then run the server until it is
// told to stop.
#include <string>

#include "base/config.h"
#include "base/log.h"
#include "server/server.h"

int main(int argc, char** argv) {
  roomcast::Config cfg;
  switch (roomcast::ParseCommandLine(argc, argv, &cfg)) {
    case roomcast::ParseOutcome::kExitOk:
      return 0;
    case roomcast::ParseOutcome::kExitInvalid:
      return 1;
    case roomcast::ParseOutcome::kExitUsage:
      return 2;
    case roomcast::ParseOutcome::kRun:
      break;
  }
  roomcast::ConfigureLog(cfg.log_level, cfg.log_format);
  // SIGHUP reads the same sources again: the same file, the environment as started, these flags.
  auto load = [argc, argv](roomcast::Config* fresh, std::string* error) {
    return roomcast::LoadConfig(argc, argv, fresh, error);
  };
  return roomcast::server::RunServer(cfg, load);
}
