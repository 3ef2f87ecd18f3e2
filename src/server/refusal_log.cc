// A debug line for each refused request or op: which connection, the status and the error code,
// and the message the client got. Rate-limited per shard (a flood of bad requests must not turn
// into a flood of log writes): past kRefusalLinesPerSec lines in one second the rest are counted,
// and the next line says how many were left out. Nothing is formatted unless --log-level debug.
#include <string>

#include "base/log.h"
#include "shard.h"

namespace roomcast::server {

namespace {
constexpr uint32_t kRefusalLinesPerSec = 20;
}  // namespace

void Shard::NoteRefusal(ConnId c, int status, std::string_view code, std::string_view message) {
  if (!LogEnabled(LogLevel::kDebug)) return;
  const uint64_t second = loop_.NowMs() / 1000;
  if (second != refusal_window_s_) {
    refusal_window_s_ = second;
    refusal_lines_ = 0;
  }
  if (++refusal_lines_ > kRefusalLinesPerSec) {
    ++refusals_unlogged_;
    return;
  }
  const std::string what = status == 0 ? std::string("WebSocket error") : std::to_string(status);
  RC_DEBUG(
      id_, "conn %u: refused (%s %.*s): %.*s%s", c, what.c_str(), static_cast<int>(code.size()),
      code.data(), static_cast<int>(message.size()), message.data(),
      refusals_unlogged_
          ? (" [+" + std::to_string(refusals_unlogged_) + " refusals not logged, over 20 lines/s]")
                .c_str()
          : "");
  refusals_unlogged_ = 0;
}

}  // namespace roomcast::server
