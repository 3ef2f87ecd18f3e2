// roomcast-load: the load generator (see perf/README.md and --help).
#include <signal.h>

#include "options.h"
#include "scenarios.h"

int main(int argc, char** argv) {
  using roomcast::load::Options;
  using roomcast::load::ParseOutcome;
  using roomcast::load::Scenario;
  Options opt;
  switch (roomcast::load::ParseOptions(argc, argv, &opt)) {
    case ParseOutcome::kExitOk:
      return 0;
    case ParseOutcome::kExitUsage:
      return 2;
    case ParseOutcome::kRun:
      break;
  }
  signal(SIGPIPE, SIG_IGN);
  switch (opt.scenario) {
    case Scenario::kFanout:
      return roomcast::load::RunFanout(opt);
    case Scenario::kStorm:
      return roomcast::load::RunStorm(opt);
    case Scenario::kPublish:
      return roomcast::load::RunPublish(opt);
    case Scenario::kConnect:
    case Scenario::kNone:
      break;
  }
  return roomcast::load::RunConnect(opt);
}
