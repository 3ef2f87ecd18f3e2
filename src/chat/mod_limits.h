// The protocol's limits on moderation acts (PROTOCOL.md v2, "Moderation").
#pragma once

#include <cstdint>

namespace roomcast::chat {

inline constexpr uint32_t kMaxSlowSecs = 86400;   // slow mode: one message per 1..86400 s
inline constexpr uint32_t kMaxBanSecs = 1209600;  // a timeout: at most two weeks

}  // namespace roomcast::chat
