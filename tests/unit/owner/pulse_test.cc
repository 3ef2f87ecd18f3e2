// owner::Pulse: reactions windows, the reactions rate limit and throttled presence states,
// driven by plain calls with a made-up clock.
#include "owner/pulse.h"

#include <gtest/gtest.h>

namespace roomcast::owner {
namespace {

PulseOptions Opts(uint32_t window_ms = 1000, uint32_t state_ms = 2000,
                  room::RateSpec rate = {10, 1}) {
  PulseOptions o;
  o.reaction_window_ms = window_ms;
  o.state_interval_ms = state_ms;
  o.react_rate = rate;
  return o;
}

TEST(Pulse, OneReactionsEventPerWindowWithItsTotals) {
  Pulse p(Opts());
  EXPECT_EQ(p.NextDueMs(), UINT64_MAX);
  EXPECT_EQ(p.React("r", "a", "x", 100).refusal, chat::Refusal::kNone);
  EXPECT_EQ(p.React("r", "b", "x", 200).refusal, chat::Refusal::kNone);
  EXPECT_EQ(p.React("r", "b", ":y:", 300).refusal, chat::Refusal::kNone);
  EXPECT_EQ(p.NextDueMs(), 1100u);
  EXPECT_TRUE(p.Due(1099).empty());
  auto due = p.Due(1100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].room, "r");
  EXPECT_EQ(due[0].json,
            R"({"type":"reactions","room":"r","window_ms":1000,"counts":{"x":2,":y:":1}})");
  EXPECT_EQ(p.LastCounts("r"), R"({"x":2,":y:":1})");
  // The next window had none: nothing sent, and the room is quiet again.
  EXPECT_TRUE(p.Due(2100).empty());
  EXPECT_EQ(p.LastCounts("r"), "{}");
  EXPECT_EQ(p.LastCounts("other"), "{}");
}

TEST(Pulse, ReactionsAreRateLimitedPerReactor) {
  Pulse p(Opts(1000, 2000, {3, 3}));  // a token a second
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.React("r", "a", "x", 0).refusal, chat::Refusal::kNone);
  const Pulse::ReactResult over = p.React("r", "a", "x", 0);
  EXPECT_EQ(over.refusal, chat::Refusal::kRateLimited);
  EXPECT_GE(over.retry_ms, 999u);
  EXPECT_LE(over.retry_ms, 1001u);
  EXPECT_EQ(p.React("r", "b", "x", 0).refusal, chat::Refusal::kNone);      // another reactor
  EXPECT_EQ(p.React("other", "a", "x", 0).refusal, chat::Refusal::kNone);  // another room
  EXPECT_EQ(p.React("r", "a", "x", 1000).refusal, chat::Refusal::kNone);   // a token back
  EXPECT_EQ(p.React("r", "a", "x", 1000).refusal, chat::Refusal::kRateLimited);
  p.SetReactRate({});  // off (SIGHUP)
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(p.React("r", "a", "x", 1000).refusal, chat::Refusal::kNone);
}

TEST(Pulse, IdleReactorsAreForgottenAndTheRoomDropped) {
  Pulse p(Opts(1000, 2000, {2, 1}));
  EXPECT_EQ(p.React("r", "a", "x", 0).refusal, chat::Refusal::kNone);
  EXPECT_EQ(p.TrackedRooms(), 1u);
  uint64_t now = 0;
  for (int i = 0; i < 10 && p.NextDueMs() != UINT64_MAX; ++i) {
    now = p.NextDueMs();
    (void)p.Due(now);
  }
  EXPECT_EQ(p.NextDueMs(), UINT64_MAX);
  EXPECT_EQ(p.TrackedRooms(), 0u);
  EXPECT_LE(now, 5000u);
}

TEST(Pulse, PresenceStateAtMostOncePerIntervalAndOnlyWhenSomeoneMayNotKnow) {
  Pulse p(Opts(1000, 2000));
  // A lone viewer: its welcome said 1, nobody needs a state.
  p.NoteOnline("r", 10'000, 1, 1);
  auto due = p.Due(10'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(due[0].json.empty());
  EXPECT_FALSE(p.Announce("r", 1, 10'000));
  // A second joins (its welcome: 2): the first one does not know yet.
  p.NoteOnline("r", 10'100, 2, 2);
  ASSERT_EQ(p.Due(10'100).size(), 1u);
  EXPECT_TRUE(p.Announce("r", 2, 10'100));
  // A join storm: one state per interval.
  for (uint64_t t = 10'200; t < 10'700; t += 50) p.NoteOnline("r", t, 3, 3);
  EXPECT_EQ(p.NextDueMs(), 12'100u);
  EXPECT_TRUE(p.Due(12'099).empty());
  ASSERT_EQ(p.Due(12'100).size(), 1u);
  EXPECT_TRUE(p.Announce("r", 3, 12'100));
  EXPECT_TRUE(p.Due(20'000).empty());  // no change, nothing due
  // One joins and one leaves within an interval: the joiner was told 4, so the others learn 3.
  p.NoteOnline("r", 20'000, 4, 4);
  p.NoteOnline("r", 20'010, 3, 0);
  ASSERT_EQ(p.Due(20'000).size(), 1u);
  EXPECT_TRUE(p.Announce("r", 3, 20'000));
  // Everyone leaves: nothing to tell, and the room is forgotten.
  p.NoteOnline("r", 30'000, 0, 0);
  ASSERT_EQ(p.Due(30'000).size(), 1u);
  EXPECT_FALSE(p.Announce("r", 0, 30'000));
  (void)p.Due(40'000);
  EXPECT_EQ(p.TrackedRooms(), 0u);
}

TEST(Pulse, NoPresenceStateWithIntervalZero) {
  Pulse p(Opts(1000, 0));
  p.NoteOnline("r", 5, 2, 2);
  EXPECT_EQ(p.NextDueMs(), UINT64_MAX);
  EXPECT_TRUE(p.Due(100'000).empty());
}

TEST(Pulse, ReactorsPerRoomAreBounded) {
  Pulse p(Opts(1000, 2000, {1, 60}));
  for (size_t i = 0; i < Pulse::kMaxReactorsPerRoom; ++i) {
    ASSERT_EQ(p.React("r", std::to_string(i), "x", 0).refusal, chat::Refusal::kNone);
  }
  EXPECT_EQ(p.React("r", "one-too-many", "x", 0).refusal, chat::Refusal::kRateLimited);
  EXPECT_EQ(p.React("r2", "one-too-many", "x", 0).refusal, chat::Refusal::kNone);
}

}  // namespace
}  // namespace roomcast::owner
