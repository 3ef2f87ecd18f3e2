#include "room/room_moderation.h"

#include <algorithm>
#include <charconv>

#include "chat/emote.h"

namespace roomcast::room {
namespace {

using auth::Bit;
using auth::Role;
using chat::Refusal;

constexpr uint32_t kMaxRateNumber = 1'000'000;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

// Exempt from the modes: vip and up. A subscriber is privileged only for subscribers-only.
bool ModeExempt(auth::RoleSet roles) {
  return (roles & (Bit(Role::kVip) | Bit(Role::kModerator) | Bit(Role::kBroadcaster) |
                   Bit(Role::kAdmin))) != 0;
}

bool ParseRateSpec(std::string_view s, RateSpec* out) {
  if (s == "off" || s == "0") {
    *out = RateSpec{};
    return true;
  }
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  auto num = [](std::string_view t, uint32_t* v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    return ec == std::errc() && p == t.data() + t.size() && !t.empty() && *v >= 1 &&
           *v <= kMaxRateNumber;
  };
  RateSpec r;
  if (!num(s.substr(0, slash), &r.count) || !num(s.substr(slash + 1), &r.secs)) return false;
  *out = r;
  return true;
}

uint64_t FoldedHash(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  bool pending_space = false, any = false;
  for (char c : text) {
    if (IsSpace(c)) {
      pending_space = any;
      continue;
    }
    if (pending_space) mix(' ');
    pending_space = false;
    any = true;
    mix(static_cast<unsigned char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c));
  }
  return h;
}

std::string FoldForUnique(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

uint64_t RoomModeration::UserState::RateFreeAt(const RateSpec& r) const {
  if (r.count == 0 || sends.size() < r.count) return 0;  // 0: no limit
  // Full: the oldest of the last N sends must leave the window first.
  return sends[next % sends.size()] + uint64_t{r.secs} * 1000;
}

void RoomModeration::UserState::Note(uint64_t now_ms, const RateSpec& r) {
  if (sends.size() > r.count) {  // the limit changed (a moderator's role, a reload): start over
    sends.clear();
    next = 0;
  }
  if (r.count == 0) {
    // no limit
  } else if (sends.size() < r.count) {
    sends.push_back(now_ms);
  } else {
    sends[next] = now_ms;
    next = (next + 1) % r.count;
  }
  last_sent_ms = now_ms;
}

SendCheck RoomModeration::CheckSend(std::string_view user, auth::RoleSet roles,
                                    std::string_view text, uint64_t now_ms, const ModPolicy& policy,
                                    bool gated_in_redis) {
  SendCheck out;
  if (const BanEntry* b = BanOf(user, now_ms)) {
    if (b->shadow) {
      out.shadow = true;  // acked and echoed to the sender only: the rest goes on as usual
    } else if (!gated_in_redis) {
      out.refusal = Refusal::kBanned;
      out.retry_ms = b->until_ms == 0 ? 0 : b->until_ms - now_ms;
      return out;
    }
  }
  const bool mod = auth::CanModerate(roles);
  const RateSpec& rate = mod ? policy.mod_rate : policy.rate;
  // gated_in_redis: no entry is ever made (NoteAccepted), so the rate and slow checks pass.
  auto it = users_.find(user);  // no allocation: the map's hash takes a string_view
  if (it != users_.end()) {
    uint64_t free_at = it->second.RateFreeAt(rate);
    if (free_at > now_ms) {
      out.refusal = Refusal::kRateLimited;
      out.retry_ms = free_at - now_ms;
      return out;
    }
  }
  if (ModeExempt(roles)) return out;
  if (modes_.subscribers_only && (roles & Bit(Role::kSubscriber)) == 0) {
    out.refusal = Refusal::kSubscribersOnly;
    return out;
  }
  if (modes_.SlowSecs() > 0 && it != users_.end() && it->second.last_sent_ms != 0) {
    uint64_t next = it->second.last_sent_ms + uint64_t{modes_.SlowSecs()} * 1000;
    if (now_ms < next) {
      out.refusal = Refusal::kSlowMode;
      out.retry_ms = next - now_ms;
      return out;
    }
  }
  if (modes_.emote_only && !chat::IsEmoteOnly(text)) {
    out.refusal = Refusal::kEmoteOnly;
    return out;
  }
  if (modes_.unique && text_counts_.count(FoldedHash(text)) != 0) {
    out.refusal = Refusal::kDuplicateText;
    return out;
  }
  return out;
}

void RoomModeration::NoteAccepted(std::string_view user, auth::RoleSet roles, std::string_view text,
                                  uint64_t now_ms, const ModPolicy& policy, bool gated_in_redis) {
  if (!gated_in_redis) NoteSend(user, roles, now_ms, policy);
  if (modes_.unique) {
    uint64_t h = FoldedHash(text);
    recent_texts_.emplace_back(now_ms, h);
    ++text_counts_[h];
    if (recent_texts_.size() > kMaxUniqueTexts) {
      auto [ms, old] = recent_texts_.front();
      recent_texts_.pop_front();
      if (--text_counts_[old] == 0) text_counts_.erase(old);
    }
  }
}

void RoomModeration::NoteSend(std::string_view user, auth::RoleSet roles, uint64_t now_ms,
                              const ModPolicy& policy) {
  const bool mod = auth::CanModerate(roles);
  const RateSpec& rate = mod ? policy.mod_rate : policy.rate;
  auto found = users_.find(user);
  UserState& u = found != users_.end() ? found->second : users_[std::string(user)];
  if (u.privileged_rate != mod) {
    u.sends.clear();
    u.next = 0;
    u.privileged_rate = mod;
  }
  u.Note(now_ms, rate);
}

void RoomModeration::Ban(std::string_view user, uint32_t secs, bool shadow, uint64_t now_ms) {
  BanEntry& b = bans_[std::string(user)];
  b.until_ms = secs == 0 ? 0 : now_ms + uint64_t{secs} * 1000;
  b.shadow = shadow;
}

bool RoomModeration::Unban(std::string_view user) { return bans_.erase(std::string(user)) != 0; }

const BanEntry* RoomModeration::BanOf(std::string_view user, uint64_t now_ms) const {
  if (bans_.empty()) return nullptr;
  auto it = bans_.find(std::string(user));
  if (it == bans_.end()) return nullptr;
  if (it->second.until_ms != 0 && it->second.until_ms <= now_ms) return nullptr;
  return &it->second;
}

std::vector<std::pair<std::string, BanEntry>> RoomModeration::Bans(uint64_t now_ms) const {
  std::vector<std::pair<std::string, BanEntry>> out;
  for (const auto& [user, b] : bans_) {
    if (b.until_ms == 0 || b.until_ms > now_ms) out.emplace_back(user, b);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void RoomModeration::Sweep(uint64_t now_ms, const ModPolicy& policy) {
  for (auto it = bans_.begin(); it != bans_.end();) {
    bool over = it->second.until_ms != 0 && it->second.until_ms <= now_ms;
    it = over ? bans_.erase(it) : std::next(it);
  }
  for (auto it = users_.begin(); it != users_.end();) {
    // Nothing left to decide once the newest send is past both the rate window and slow mode.
    const UserState& u = it->second;
    const RateSpec& rate = u.privileged_rate ? policy.mod_rate : policy.rate;
    uint64_t span = uint64_t{std::max(rate.secs, modes_.SlowSecs())} * 1000;
    it = now_ms >= u.last_sent_ms + span ? users_.erase(it) : std::next(it);
  }
  uint64_t window = uint64_t{policy.unique_window_secs} * 1000;
  while (!recent_texts_.empty() && recent_texts_.front().first + window <= now_ms) {
    uint64_t h = recent_texts_.front().second;
    recent_texts_.pop_front();
    if (--text_counts_[h] == 0) text_counts_.erase(h);
  }
}

}  // namespace roomcast::room
