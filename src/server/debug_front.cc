// POST /debug/stall?secs=N, only with --debug-stall (testing only): blocks the shard that answers
// it for N seconds, as a shard stuck in a bug would be, so that a test can watch the systemd
// watchdog pings stop (watchdog.h). Without the flag the path is an ordinary 404.
#include <unistd.h>

#include <string>

#include "base/log.h"
#include "shard.h"

namespace roomcast::server {

void Shard::HandleDebugStall(ConnId c, const http::Request& req, AnswerForm a) {
  if (req.method != "POST") return RespondError(c, a, 405, "method_not_allowed", "use POST");
  std::string secs_s;
  uint64_t secs = 0;
  if (!http::QueryParam(req.query, "secs", &secs_s) || !http::ParseDecimal(secs_s, &secs) ||
      secs < 1 || secs > 60) {
    return RespondError(c, a, 400, "bad_request", "secs must be a whole number from 1 to 60");
  }
  RC_WARN(id_, "POST /debug/stall: blocking this shard's loop for %llu s (--debug-stall)",
          static_cast<unsigned long long>(secs));
  sleep(static_cast<unsigned>(secs));  // the point: this loop does not turn meanwhile
  Respond(c, a,
          http::BuildResponse(200, "application/json", R"({"status":"stalled"})", a.keep_alive,
                              CorsHeaders(a.cors)));
}

}  // namespace roomcast::server
