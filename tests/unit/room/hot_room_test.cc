#include "room/hot_room.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "room/room_owner.h"

namespace roomcast::room {
namespace {

constexpr uint64_t kT0 = 1'000'000'000;

TEST(RateWindow, MeanOverTheLastWholeSeconds) {
  RateWindow w;
  for (int s = 0; s < 5; ++s) w.Note(kT0 + s * 1000, 100);
  EXPECT_DOUBLE_EQ(w.PerSecond(kT0 + 5000), 100.0);
  EXPECT_EQ(w.ThisSecond(kT0 + 5000), 0u);
  EXPECT_DOUBLE_EQ(w.PerSecond(kT0 + 7000), 60.0);
  EXPECT_DOUBLE_EQ(w.PerSecond(kT0 + 60'000), 0.0);
}

// Ordinary messages at `rate` a second for `secs` seconds from t, spread evenly; returns shown.
int Burst(HotRoom& h, const HotPolicy& p, uint64_t t, int rate, int secs) {
  int shown = 0;
  for (int i = 0; i < rate * secs; ++i) shown += h.NoteOrdinary(t + i * 1000ull / rate, p) ? 1 : 0;
  return shown;
}

TEST(HotRoom, SamplesAtMostTheVisibleRateAndTalliesIt) {
  HotRoom h;
  HotPolicy p;
  EXPECT_EQ(Burst(h, p, kT0, 20, 2), 40);  // under 30/s: everything shown
  EXPECT_EQ(h.TakeSampledTally(kT0 + 2000).total, 0u);
  int shown = Burst(h, p, kT0 + 2000, 1000, 3);
  EXPECT_LE(shown, 3 * 30 + 30);
  EXPECT_GE(shown, 3 * 30 - 1);
  HotRoom::SecondTally t = h.TakeSampledTally(kT0 + 5000);
  EXPECT_EQ(t.total, 1000u);
  EXPECT_LE(t.shown, 31u);
  EXPECT_EQ(h.TakeSampledTally(kT0 + 5000).total, 0u);  // once
  EXPECT_TRUE(h.Update(kT0 + 5000, p));                 // over 50/s: automatic slow mode
  EXPECT_TRUE(h.AutoSlow());
  EXPECT_TRUE(h.Sampling());
}

TEST(HotRoom, AutomaticSlowModeLiftsAfterAMinuteUnderHalf) {
  HotRoom h;
  HotPolicy p;
  (void)Burst(h, p, kT0, 100, 5);
  EXPECT_TRUE(h.Update(kT0 + 5000, p));
  // 30/s is above half of 50: stays on.
  (void)Burst(h, p, kT0 + 5000, 30, 10);
  EXPECT_FALSE(h.Update(kT0 + 15'000, p));
  EXPECT_TRUE(h.AutoSlow());
  // 10/s is under half: lifted once 60 s have passed under it.
  uint64_t t = kT0 + 15'000;
  bool lifted = false;
  uint64_t lifted_at = 0;
  for (int s = 0; s < 90 && !lifted; ++s, t += 1000) {
    (void)Burst(h, p, t, 10, 1);
    if (h.Update(t + 1000, p)) {
      lifted = true;
      lifted_at = t + 1000;
    }
  }
  ASSERT_TRUE(lifted);
  EXPECT_FALSE(h.AutoSlow());
  // The 5-second window first reads under 25/s at +20 s, then 60 s of calm.
  EXPECT_GE(lifted_at, kT0 + 15'000 + 60'000);
  EXPECT_LE(lifted_at, kT0 + 15'000 + 70'000);
}

TEST(HotRoom, ZeroTurnsEachReflexOff) {
  HotRoom h;
  HotPolicy p{.hot_msgs_per_sec = 0, .max_visible_rate = 0};
  EXPECT_EQ(Burst(h, p, kT0, 1000, 2), 2000);
  EXPECT_FALSE(h.Update(kT0 + 2000, p));
  EXPECT_FALSE(h.AutoSlow());
  EXPECT_FALSE(h.Sampling());
}

TEST(HotRoom, MentionTagsReadsAtNamesUpToPunctuation) {
  std::vector<uint64_t> tags;
  MentionTags("hi @vic, and @ann.b. and (@zo) @ @@x", &tags);
  std::vector<uint64_t> want = {UserTag("vic"), UserTag("ann.b."), UserTag("ann.b"), UserTag("zo"),
                                UserTag("x")};
  EXPECT_EQ(tags, want);
  MentionTags("no mention here: a@b", &tags);
  EXPECT_EQ(tags, std::vector<uint64_t>{UserTag("b")});  // an e-mail reads as one; harmless
  std::string many;
  for (int i = 0; i < 20; ++i) many += "@u" + std::to_string(i) + " ";
  MentionTags(many, &tags);
  EXPECT_EQ(tags.size(), kMaxMentions);
}

}  // namespace
}  // namespace roomcast::room
