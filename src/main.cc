// roomcast: parse the flags, then run the server until it is told to stop.
#include "base/config.h"
#include "base/log.h"
#include "server/server.h"

int main(int argc, char** argv) {
  roomcast::Config cfg;
  switch (roomcast::ParseCommandLine(argc, argv, &cfg)) {
    case roomcast::ParseOutcome::kExitOk:
      return 0;
    case roomcast::ParseOutcome::kExitUsage:
      return 2;
    case roomcast::ParseOutcome::kRun:
      break;
  }
  roomcast::SetLogLevel(cfg.log_level);
  return roomcast::server::RunServer(cfg);
}
