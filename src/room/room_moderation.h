// What a room's owner checks before it sequences an ordinary message from a user (PROTOCOL.md,
// "Moderation"): bans and timeouts, the per-user rate limit, and the room modes (slow mode,
// subscribers-only, emote-only, unique chat). Blocked terms are checked after these
// (chat/blocked_terms.h). Owner shard only; plain data, driven by plain calls in unit tests.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/roles.h"
#include "chat/mod_limits.h"
#include "chat/refusal.h"

namespace roomcast::room {

// "N/S": at most N messages in any S seconds. Kept exactly, as a window of each user's last N
// send times (a token bucket would let up to 2N-1 through in S seconds).
struct RateSpec {
  uint32_t count = 0;  // 0: no limit
  uint32_t secs = 0;
};
// "20/30" -> {20, 30}; both 1..1,000,000; "off" or "0" -> {0, 0}, no limit. False for anything
// else.
[[nodiscard]] bool ParseRateSpec(std::string_view s, RateSpec* out);

struct ModPolicy {
  RateSpec rate{20, 30};       // --rate-limit, everyone
  RateSpec mod_rate{100, 30};  // --mod-rate-limit, moderators and up
  uint32_t unique_window_secs = 600;
  RateSpec react_rate{10, 1};  // --react-rate-limit (owner/pulse.h keeps its buckets)
};

struct RoomModes {
  uint32_t slow_secs = 0;  // a moderator's slow mode; 0: off; 1..86400
  bool subscribers_only = false;
  bool emote_only = false;
  bool unique = false;
  // Automatic slow mode of a hot room (HotRoom): its interval while on, 0: off. A moderator's
  // slow_secs, when set, wins over it (and hides it on the wire).
  uint32_t auto_slow_secs = 0;
  bool operator==(const RoomModes&) const = default;
  // The slow-mode interval in force: the moderator's, else the automatic one.
  [[nodiscard]] uint32_t SlowSecs() const { return slow_secs != 0 ? slow_secs : auto_slow_secs; }
  // Slow mode is on by itself (the wire's "auto":true).
  [[nodiscard]] bool AutoSlow() const { return slow_secs == 0 && auto_slow_secs != 0; }
};
using chat::kMaxBanSecs;
using chat::kMaxSlowSecs;

struct BanEntry {
  uint64_t until_ms = 0;  // 0: permanent
  bool shadow = false;
};

// The answer to one send: go on (kNone; shadow: only its sender's connections see it) or refused,
// with retry_ms for refusals that pass (rate limit, slow mode, a timeout).
struct SendCheck {
  chat::Refusal refusal = chat::Refusal::kNone;
  uint64_t retry_ms = 0;
  bool shadow = false;
};

class RoomModeration {
 public:
  // A send by `user` with `roles` in this room. Does not count it: call NoteAccepted when the
  // message is sequenced (a held or refused message does not use the slow-mode slot).
  // gated_in_redis (--redis: the publish script checks bans, the rate limit and slow mode
  // itself, over every node): none of those refuses here, and NoteAccepted counts nothing for
  // them (a send Redis then refuses uses no slot here); a shadow ban still marks the send shadow,
  // and the other modes and unique chat are checked here.
  [[nodiscard]] SendCheck CheckSend(std::string_view user, auth::RoleSet roles,
                                    std::string_view text, uint64_t now_ms, const ModPolicy& policy,
                                    bool gated_in_redis = false);
  void NoteAccepted(std::string_view user, auth::RoleSet roles, std::string_view text,
                    uint64_t now_ms, const ModPolicy& policy, bool gated_in_redis = false);

  // secs 0: permanent; otherwise a timeout of secs (1..kMaxBanSecs).
  void Ban(std::string_view user, uint32_t secs, bool shadow, uint64_t now_ms);
  // False when the user was not banned.
  bool Unban(std::string_view user);
  // Replay of a checkpoint: the bans as they were (until_ms 0: permanent).
  void ClearBans() { bans_.clear(); }
  void RestoreBan(std::string_view user, uint64_t until_ms, bool shadow) {
    bans_[std::string(user)] = BanEntry{until_ms, shadow};
  }
  // The bans still in force, by user.
  [[nodiscard]] std::vector<std::pair<std::string, BanEntry>> Bans(uint64_t now_ms) const;
  [[nodiscard]] const BanEntry* BanOf(std::string_view user, uint64_t now_ms) const;

  [[nodiscard]] const RoomModes& Modes() const { return modes_; }
  void SetModes(const RoomModes& m) { modes_ = m; }

  // Drops state that no longer decides anything (full buckets, ended slow-mode waits, expired
  // timeouts, unique texts past the window). Call about once a second.
  void Sweep(uint64_t now_ms, const ModPolicy& policy);
  [[nodiscard]] size_t TrackedUsers() const { return users_.size(); }
  [[nodiscard]] bool HasBans() const { return !bans_.empty(); }
  [[nodiscard]] size_t TrackedTexts() const { return recent_texts_.size(); }
  // At most this many texts remembered for unique chat (the oldest go first past it).
  static constexpr size_t kMaxUniqueTexts = 50'000;

 private:
  // The user's send in its rate window and slow-mode slot.
  void NoteSend(std::string_view user, auth::RoleSet roles, uint64_t now_ms,
                const ModPolicy& policy);
  struct UserState {
    std::vector<uint64_t> sends;  // the last (at most rate.count) send times, a ring
    uint32_t next = 0;            // the ring's oldest entry once it is full
    uint64_t last_sent_ms = 0;    // for slow mode
    bool privileged_rate = false;
    // When the user may send again under `r` (0: now).
    [[nodiscard]] uint64_t RateFreeAt(const RateSpec& r) const;
    void Note(uint64_t now_ms, const RateSpec& r);
  };

  // Looked up by string_view (no allocation per send).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  RoomModes modes_;
  std::unordered_map<std::string, UserState, NameHash, std::equal_to<>> users_;
  std::unordered_map<std::string, BanEntry> bans_;
  std::deque<std::pair<uint64_t, uint64_t>> recent_texts_;  // (ms, hash of the folded text)
  std::unordered_map<uint64_t, uint32_t> text_counts_;
};

// Exempt from the modes: vip and up (a subscriber is privileged only for subscribers-only).
[[nodiscard]] bool ModeExempt(auth::RoleSet roles);

// The folded form unique chat compares: ASCII letters lower-cased, runs of white space one space,
// no white space at either end.
[[nodiscard]] std::string FoldForUnique(std::string_view text);
// The hash unique chat keeps of a text: FNV-1a of FoldForUnique(text), without building it.
[[nodiscard]] uint64_t FoldedHash(std::string_view text);

}  // namespace roomcast::room
