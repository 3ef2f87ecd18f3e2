#include "room/room_moderation.h"

#include <gtest/gtest.h>

namespace roomcast::room {
namespace {

using auth::Bit;
using auth::Role;
using chat::Refusal;

constexpr uint64_t kT0 = 1'000'000;

TEST(RateSpec, Parses) {
  RateSpec r;
  ASSERT_TRUE(ParseRateSpec("20/30", &r));
  EXPECT_EQ(r.count, 20u);
  EXPECT_EQ(r.secs, 30u);
  for (const char* bad :
       {"", "20", "/30", "20/", "0/30", "20/0", "a/b", "20/30/1", " 20/30", "2000000/1"}) {
    EXPECT_FALSE(ParseRateSpec(bad, &r)) << bad;
  }
  ASSERT_TRUE(ParseRateSpec("off", &r));
  EXPECT_EQ(r.count, 0u);
}

// Sends n messages from `user` at `t`, each accepted; returns how many were.
int SendMany(RoomModeration& m, const ModPolicy& p, std::string_view user, auth::RoleSet roles,
             int n, uint64_t t, uint64_t step_ms = 0) {
  int ok = 0;
  for (int i = 0; i < n; ++i, t += step_ms) {
    std::string text = std::string(user) + " says " + std::to_string(i);
    if (m.CheckSend(user, roles, text, t, p).refusal != Refusal::kNone) continue;
    m.NoteAccepted(user, roles, text, t, p);
    ++ok;
  }
  return ok;
}

TEST(RoomModeration, TheTwentyFirstMessageInThirtySecondsIsRefusedUntilTheFirstLeaves) {
  RoomModeration m;
  ModPolicy p;
  EXPECT_EQ(SendMany(m, p, "u", 0, 20, kT0, 1000), 20);  // one a second: 20 in 19 s
  SendCheck c = m.CheckSend("u", 0, "one more", kT0 + 20'000, p);
  EXPECT_EQ(c.refusal, Refusal::kRateLimited);
  EXPECT_EQ(c.retry_ms, 10'000u);  // the first leaves the window at kT0 + 30 s
  EXPECT_EQ(m.CheckSend("u", 0, "one more", kT0 + 30'000, p).refusal, Refusal::kNone);
  // Another user, and the same user in a moderator's limit, are counted apart.
  EXPECT_EQ(m.CheckSend("v", 0, "hi", kT0 + 20'000, p).refusal, Refusal::kNone);
  EXPECT_EQ(SendMany(m, p, "mod", Bit(Role::kModerator), 120, kT0), 100);
}

TEST(RoomModeration, SlowModeIsPerUserAndSparesVipsAndUp) {
  RoomModeration m;
  ModPolicy p;
  m.SetModes({.slow_secs = 10});
  EXPECT_EQ(SendMany(m, p, "u", 0, 1, kT0), 1);
  SendCheck c = m.CheckSend("u", 0, "again", kT0 + 4'000, p);
  EXPECT_EQ(c.refusal, Refusal::kSlowMode);
  EXPECT_EQ(c.retry_ms, 6'000u);
  EXPECT_EQ(m.CheckSend("u", 0, "again", kT0 + 10'000, p).refusal, Refusal::kNone);
  EXPECT_EQ(m.CheckSend("w", 0, "first", kT0 + 4'000, p).refusal, Refusal::kNone);
  EXPECT_EQ(SendMany(m, p, "vip", Bit(Role::kVip), 5, kT0), 5);
  EXPECT_EQ(SendMany(m, p, "sub", Bit(Role::kSubscriber), 5, kT0), 1);  // not exempt
}

TEST(RoomModeration, SubscribersOnlyEmoteOnlyAndUnique) {
  RoomModeration m;
  ModPolicy p;
  m.SetModes({.subscribers_only = true});
  EXPECT_EQ(m.CheckSend("u", 0, "hi", kT0, p).refusal, Refusal::kSubscribersOnly);
  EXPECT_EQ(m.CheckSend("s", Bit(Role::kSubscriber), "hi", kT0, p).refusal, Refusal::kNone);
  m.SetModes({.emote_only = true});
  EXPECT_EQ(m.CheckSend("u", 0, "hi", kT0, p).refusal, Refusal::kEmoteOnly);
  EXPECT_EQ(m.CheckSend("u", 0, "😀 :Kappa:", kT0, p).refusal, Refusal::kNone);
  EXPECT_EQ(m.CheckSend("m", Bit(Role::kModerator), "hi", kT0, p).refusal, Refusal::kNone);
  m.SetModes({.unique = true});
  m.NoteAccepted("u", 0, "Hello   World ", kT0, p);
  EXPECT_EQ(m.CheckSend("v", 0, " hello world", kT0 + 1, p).refusal, Refusal::kDuplicateText);
  EXPECT_EQ(m.CheckSend("v", 0, "hello worlds", kT0 + 1, p).refusal, Refusal::kNone);
  m.Sweep(kT0 + 600'000, p);  // past --unique-window-secs
  EXPECT_EQ(m.CheckSend("v", 0, "hello world", kT0 + 600'000, p).refusal, Refusal::kNone);
}

TEST(RoomModeration, BansTimeoutsAndShadowBans) {
  RoomModeration m;
  ModPolicy p;
  m.Ban("troll", 0, false, kT0);
  m.Ban("brief", 60, false, kT0);
  m.Ban("ghost", 0, true, kT0);
  EXPECT_EQ(m.CheckSend("troll", 0, "x", kT0 + 999'999, p).refusal, Refusal::kBanned);
  SendCheck c = m.CheckSend("brief", 0, "x", kT0 + 20'000, p);
  EXPECT_EQ(c.refusal, Refusal::kBanned);
  EXPECT_EQ(c.retry_ms, 40'000u);
  EXPECT_EQ(m.CheckSend("brief", 0, "x", kT0 + 60'000, p).refusal, Refusal::kNone);
  c = m.CheckSend("ghost", 0, "x", kT0, p);
  EXPECT_EQ(c.refusal, Refusal::kNone);
  EXPECT_TRUE(c.shadow);
  EXPECT_EQ(m.Bans(kT0 + 60'000).size(), 2u);
  EXPECT_TRUE(m.Unban("troll"));
  EXPECT_FALSE(m.Unban("troll"));
  EXPECT_EQ(m.CheckSend("troll", 0, "x", kT0, p).refusal, Refusal::kNone);
}

// --redis: the publish script checks bans, the rate limit and slow mode over every node, so the
// node's copy refuses none of them and counts no slot (a send Redis then refuses uses none here);
// a shadow ban, the other modes and unique chat stay local.
TEST(RoomModeration, GatedInRedisLeavesBansRateAndSlowModeToRedis) {
  RoomModeration m;
  ModPolicy p;
  p.rate = RateSpec{2, 10'000};
  RoomModes modes;
  modes.slow_secs = 30;
  modes.unique = true;
  m.SetModes(modes);
  m.Ban("troll", 0, false, kT0);
  m.Ban("ghost", 0, true, kT0);
  for (int i = 0; i < 5; ++i) {
    const std::string text = "msg " + std::to_string(i);
    const SendCheck c = m.CheckSend("u", 0, text, kT0 + i, p, /*gated_in_redis=*/true);
    EXPECT_EQ(c.refusal, Refusal::kNone) << i;
    m.NoteAccepted("u", 0, text, kT0 + i, p, /*gated_in_redis=*/true);
  }
  EXPECT_EQ(m.CheckSend("troll", 0, "x", kT0, p, true).refusal, Refusal::kNone);
  EXPECT_TRUE(m.CheckSend("ghost", 0, "y", kT0, p, true).shadow);
  EXPECT_EQ(m.CheckSend("v", 0, "msg 0", kT0 + 10, p, true).refusal, Refusal::kDuplicateText);
  // The same sends not gated: the third is rate limited, and slow mode holds the second.
  RoomModeration local;
  local.SetModes(modes);
  EXPECT_EQ(SendMany(local, p, "u", 0, 5, kT0, 1), 1);
}

TEST(RoomModeration, SweepForgetsWhatNoLongerDecides) {
  RoomModeration m;
  ModPolicy p;
  m.SetModes({.unique = true});
  for (int u = 0; u < 1000; ++u) SendMany(m, p, "user" + std::to_string(u), 0, 1, kT0);
  EXPECT_EQ(m.TrackedUsers(), 1000u);
  m.Sweep(kT0 + 29'999, p);
  EXPECT_EQ(m.TrackedUsers(), 1000u);
  m.Sweep(kT0 + 30'000, p);
  EXPECT_EQ(m.TrackedUsers(), 0u);
  m.Sweep(kT0 + 600'000, p);
  EXPECT_EQ(m.TrackedTexts(), 0u);
}

TEST(RoomModeration, FoldForUnique) {
  EXPECT_EQ(FoldForUnique("  Hello \t\n WORLD  "), "hello world");
  EXPECT_EQ(FoldForUnique(""), "");
}

TEST(FoldedHash, IsTheHashOfTheFoldedText) {
  for (const char* t : {"", "  ", "GG  wp", " gg wp ", "Hello\n\tWorld", "ÄÖ x", "a"}) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a of FoldForUnique(t)
    for (unsigned char c : FoldForUnique(t)) h = (h ^ c) * 1099511628211ull;
    EXPECT_EQ(FoldedHash(t), h) << t;
  }
  EXPECT_EQ(FoldedHash("GG  wp"), FoldedHash(" gg wp"));
}

TEST(RoomModeration, NoLimitWhenOff) {
  RoomModeration m;
  ModPolicy p;
  p.rate = RateSpec{};
  EXPECT_EQ(SendMany(m, p, "alice", 0, 500, kT0), 500);
}

}  // namespace

}  // namespace roomcast::room
