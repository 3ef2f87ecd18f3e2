#include "room/room_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace roomcast::room {
namespace {

constexpr uint64_t kT0 = 1'000'000'000;

TEST(RoomStats, DistinctViewersWithinTwoPercentAndRepeatsCountOnce) {
  RoomStats s;
  for (int rep = 0; rep < 2; ++rep) {
    for (int i = 0; i < 5000; ++i) s.NoteViewer(HashItem("user-" + std::to_string(i)), kT0);
  }
  s.NoteViewer(0, kT0);  // no key: nothing
  EXPECT_LT(std::fabs(static_cast<double>(s.Unique5m(kT0)) - 5000) / 5000, 0.02);
  EXPECT_EQ(s.UniqueTotal(), s.Unique5m(kT0));
  // Ten minutes later the window has forgotten them; the total has not.
  EXPECT_EQ(s.Unique5m(kT0 + 10 * 60'000), 0u);
  EXPECT_LT(std::fabs(static_cast<double>(s.UniqueTotal()) - 5000) / 5000, 0.02);
}

TEST(RoomStats, ViewersPerTransportNeverGoBelowZero) {
  RoomStats s;
  s.AddViewers(Transport::kWs, 3);
  s.AddViewers(Transport::kSse, 2);
  s.AddViewers(Transport::kPoll, 1);
  s.RemoveViewers(Transport::kWs, 1);
  s.RemoveViewers(Transport::kPoll, 5);
  EXPECT_EQ(s.Viewers(Transport::kWs), 2u);
  EXPECT_EQ(s.Viewers(Transport::kSse), 2u);
  EXPECT_EQ(s.Viewers(Transport::kPoll), 0u);
}

TEST(RoomStats, MessageRateIsTheMeanOfTheLastFiveSeconds) {
  RoomStats s;
  for (int sec = 0; sec < 5; ++sec) {
    for (int i = 0; i < 40; ++i) s.NoteMessage(kT0 + sec * 1000 + i * 20);
  }
  EXPECT_DOUBLE_EQ(s.MsgsPerSec(kT0 + 5000), 40.0);
  EXPECT_DOUBLE_EQ(s.MsgsPerSec(kT0 + 30'000), 0.0);
}

TEST(RoomStats, LagIsTheWorstFreshShardReport) {
  RoomStats s;
  EXPECT_EQ(s.LagP99(kT0), 0u);
  s.NoteLag(0, 7, kT0);
  s.NoteLag(3, 31, kT0 + 1000);
  s.NoteLag(-1, 999, kT0);    // ignored
  s.NoteLag(9999, 999, kT0);  // ignored
  EXPECT_EQ(s.LagP99(kT0 + 1000), 31u);
  EXPECT_EQ(s.LagP99(kT0 + RoomStats::kLagFreshMs + 500), 31u);  // shard 0's report is stale
  s.NoteLag(3, 1, kT0 + 2000);
  EXPECT_EQ(s.LagP99(kT0 + RoomStats::kLagFreshMs + 500), 1u);
  EXPECT_EQ(s.LagP99(kT0 + 60'000), 0u);  // nothing fresh
}

TEST(LagHistogram, P99IsTheBucketBoundAtOrAboveIt) {
  LagHistogram h;
  EXPECT_EQ(h.P99(), 0u);
  h.Observe(0, 50);
  EXPECT_EQ(h.P99(), 0u);
  h.Observe(3, 940);   // bucket [2,4): bound 3
  h.Observe(100, 10);  // bucket [64,128): bound 127; exactly 1%
  EXPECT_EQ(h.P99(), 3u);
  h.Observe(100, 1);  // now over 1%
  EXPECT_EQ(h.P99(), 127u);
  h.Observe(uint64_t{1} << 40, 1000);  // far beyond the last bucket: counted in it
  EXPECT_GE(h.P99(), 65'000u);
  h.Clear();
  EXPECT_TRUE(h.Empty());
}

}  // namespace
}  // namespace roomcast::room
