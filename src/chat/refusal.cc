#include "refusal.h"

namespace roomcast::chat {

namespace {

constexpr RefusalInfo kTable[] = {
    /* kNone */ {"internal", 500, "internal error"},
    /* kBadRequest */ {"bad_request", 400, "bad request"},
    /* kTooLarge */ {"too_large", 413, "too large"},
    /* kForbidden */ {"forbidden", 403, "forbidden"},
    /* kRoomLimit */ {"unavailable", 503, "the room could not be created (room limit)"},
    /* kTooManyRooms */ {"unavailable", 503, "too many rooms on this server"},
    /* kLogFailed */
    {"unavailable", 503, "the message log cannot be written: nothing is accepted"},
    /* kNoSuchMessage */ {"not_found", 404, "no such message in this room"},
    /* kAlreadyRetracted */ {"already_retracted", 409, "already retracted"},
    /* kNotAMessage */ {"not_a_message", 409, "that seq is a retraction"},
    /* kGone */
    {"gone", 410, "that message is older than the history kept: it is no longer served"},
    /* kUnauthorized */ {"unauthorized", 401, "a valid token is needed"},
    /* kTokenExpired */ {"token_expired", 401, "the token has expired"},
    /* kBanned */ {"banned", 403, "you are banned from this room"},
    /* kSubscribersOnly */ {"forbidden", 403, "subscribers-only mode: only subscribers may send"},
    /* kSlowMode */ {"slow_mode", 429, "slow mode: wait before sending again"},
    /* kRateLimited */ {"rate_limited", 429, "too many messages: wait before sending again"},
    /* kEmoteOnly */ {"emote_only", 403, "emote-only mode: only emotes may be sent"},
    /* kDuplicateText */ {"duplicate_text", 409, "unique chat: this text was sent recently"},
    /* kBlockedTerm */ {"blocked_term", 403, "the message contains a blocked term"},
    /* kNotBanned */ {"not_found", 404, "that user is not banned in this room"},
    /* kTooManyActs */
    {"rate_limited", 429, "too many moderation acts in this room: wait before the next"},
    /* kNoSuchHeld */
    {"not_found", 404, "no such held message (allowed, denied or dropped after 10 minutes)"},
    /* kRedisUnavailable */
    {"unavailable", 503, "the shared message store (Redis) cannot be reached: not done"},
    /* kTooManyBans */
    {"too_large", 413, "too many bans in this room (--redis: at most 10000): unban some first"},
    /* kNoSuchRoom */ {"not_found", 404, "no such room (no viewer and no message)"},
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) == static_cast<size_t>(Refusal::kNoSuchRoom) + 1,
              "one table row per Refusal");

}  // namespace

const RefusalInfo& Describe(Refusal r) {
  const auto i = static_cast<size_t>(r);
  return i < sizeof(kTable) / sizeof(kTable[0]) ? kTable[i] : kTable[0];
}

}  // namespace roomcast::chat
