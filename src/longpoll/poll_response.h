// The body of a long-poll answer, built once and shared by every poll it answers:
//   {"messages":[<object>,...],"cursor":"<cursor>","timeoutMs":T,"epoch":"<epoch>","seq":S}
// `objects` are ready JSON objects (messages, gap, bye); `cursor` and `epoch` must be plain
// (base64url and hex text need no escaping). Pure, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace roomcast::longpoll {

[[nodiscard]] std::string BuildPollBody(std::span<const std::string_view> objects,
                                        std::string_view cursor, uint32_t timeout_ms,
                                        std::string_view epoch, uint64_t seq);

}  // namespace roomcast::longpoll
