#include "room/room_replica.h"

#include <gtest/gtest.h>

#include <vector>

namespace roomcast::room {
namespace {

TEST(Pacing, SmallRoomsFlushEveryTickBigRoomsWithinBudget) {
  PacingPolicy p{5, 200000};
  EXPECT_EQ(FlushIntervalMs(p, 0), 5u);
  EXPECT_EQ(FlushIntervalMs(p, 1000), 5u);
  EXPECT_EQ(FlushIntervalMs(p, 100000), 500u);  // 100k sends per flush at 200k/s: 2 per second
  EXPECT_EQ(FlushIntervalMs(p, 100000000), 1000u) << "never slower than once a second";
}

TEST(Replicas, ViewerPositionsStayConsistent) {
  Replicas reps(PacingPolicy{});
  uint32_t idx = reps.GetOrCreate("r");
  EXPECT_EQ(reps.Find("r"), idx);
  std::vector<uint32_t> pos(10);
  for (uint32_t v = 0; v < 10; ++v) pos[v] = reps.AddViewer(idx, v);
  // Remove viewer 3: the last one (9) moves into its place.
  ViewerId moved = reps.RemoveViewer(idx, pos[3]);
  EXPECT_EQ(moved, 9u);
  pos[9] = pos[3];
  EXPECT_EQ(reps.At(idx).viewers[pos[9]], 9u);
  // Remove the last one: nothing moves.
  ViewerId last = reps.At(idx).viewers.back();
  EXPECT_EQ(reps.RemoveViewer(idx, static_cast<uint32_t>(reps.At(idx).viewers.size() - 1)), last);
  EXPECT_EQ(reps.At(idx).viewers.size(), 8u);
}

TEST(Replicas, ReleasedOnlyWhenUnused) {
  Replicas reps(PacingPolicy{});
  uint32_t idx = reps.GetOrCreate("r");
  reps.At(idx).joining = 1;
  reps.ReleaseIfUnused(idx);
  EXPECT_EQ(reps.Find("r"), idx) << "a join is in flight";
  reps.At(idx).joining = 0;
  reps.ReleaseIfUnused(idx);
  EXPECT_EQ(reps.Find("r"), kNoReplica);
  EXPECT_EQ(reps.Count(), 0u);
  EXPECT_EQ(reps.GetOrCreate("other"), idx) << "the slot is reused";
}

TEST(Replicas, FlushDueHonoursTheInterval) {
  Replicas reps(PacingPolicy{10, 200000});
  uint32_t idx = reps.GetOrCreate("r");
  reps.AddViewer(idx, 1);
  reps.At(idx).last_flush_ms = 1000;
  reps.Deliver(idx, SequencedMsg{1, "{}"});
  reps.Deliver(idx, SequencedMsg{2, "{}"});
  std::vector<uint32_t> flushed;
  uint32_t wait = reps.FlushDue(1004, [&](uint32_t i) { flushed.push_back(i); });
  EXPECT_TRUE(flushed.empty());
  EXPECT_EQ(wait, 6u);
  wait = reps.FlushDue(1010, [&](uint32_t i) { flushed.push_back(i); });
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(reps.At(idx).pending.size(), 2u) << "the caller empties pending";
  EXPECT_EQ(wait, UINT32_MAX);
}

TEST(Replicas, SseViewersAndPollersAreSeparateListsAndKeepTheRoom) {
  Replicas reps(PacingPolicy{5, 1000});
  uint32_t idx = reps.GetOrCreate("r");
  const uint32_t ws = reps.AddViewer(idx, 1);
  const uint32_t sse = reps.AddViewer(idx, 2, ViewerList::kSse);
  const uint32_t p0 = reps.AddPoller(idx, Poller{3, 7, 40, 1000});
  const uint32_t p1 = reps.AddPoller(idx, Poller{4, 7, 40, 2000});
  EXPECT_EQ(ws, 0u);
  EXPECT_EQ(sse, 0u);
  EXPECT_EQ(Replicas::Audience(reps.At(idx)), 4u);
  // Remove the first poller: the last moves into its place, with its seq and deadline.
  EXPECT_EQ(reps.RemovePoller(idx, p0), 4u);
  EXPECT_EQ(reps.At(idx).pollers[p0].deadline_ms, 2000u);
  (void)p1;
  EXPECT_EQ(reps.RemoveViewer(idx, ws), 1u);
  EXPECT_EQ(reps.RemoveViewer(idx, sse, ViewerList::kSse), 2u);
  reps.ReleaseIfUnused(idx);
  EXPECT_EQ(reps.Find("r"), idx) << "a parked poll still uses the room";
  reps.RemovePoller(idx, 0);
  reps.ReleaseIfUnused(idx);
  EXPECT_EQ(reps.Find("r"), kNoReplica);
}

TEST(Replicas, APriorityMessageCutsAPacedRoomsWaitToAtMostKPrioFlushMs) {
  Replicas reps(PacingPolicy{5, 1000});  // 1000 viewers at 1000 sends/s: one flush a second
  uint32_t idx = reps.GetOrCreate("r");
  for (uint32_t v = 0; v < 1000; ++v) reps.AddViewer(idx, v);
  reps.At(idx).last_flush_ms = 1000;
  reps.Deliver(idx, SequencedMsg{1, "{}", 0});
  int flushed = 0;
  EXPECT_EQ(reps.FlushDue(1010, [&](uint32_t) { ++flushed; }), 990u) << "paced: a second";
  reps.Deliver(idx, SequencedMsg{2, "{}", 0, kEvPrio});
  EXPECT_EQ(reps.FlushDue(1020, [&](uint32_t) { ++flushed; }), kPrioFlushMs - 20);
  EXPECT_EQ(reps.FlushDue(1000 + kPrioFlushMs, [&](uint32_t) { ++flushed; }), UINT32_MAX);
  EXPECT_EQ(flushed, 1);
  // Flushed: the next ordinary message waits the paced second again.
  reps.At(idx).pending.clear();
  reps.Deliver(idx, SequencedMsg{3, "{}", 0});
  EXPECT_EQ(reps.FlushDue(1000 + kPrioFlushMs + 10, [&](uint32_t) { ++flushed; }), 990u);
  EXPECT_EQ(flushed, 1);
}

TEST(Replicas, PacingCountsEveryoneAFlushReaches) {
  Replicas reps(PacingPolicy{5, 1000});  // 1000 sends/s: 100 receivers flush every 100 ms
  uint32_t idx = reps.GetOrCreate("r");
  for (uint32_t v = 0; v < 50; ++v) reps.AddViewer(idx, v, ViewerList::kSse);
  for (uint32_t v = 50; v < 100; ++v) reps.AddPoller(idx, Poller{v, 0, 0, 0});
  reps.At(idx).last_flush_ms = 1000;
  reps.Deliver(idx, SequencedMsg{1, "{}", 0});
  int flushed = 0;
  EXPECT_EQ(reps.FlushDue(1010, [&](uint32_t) { ++flushed; }), 90u) << "100 ms, not the 5 ms tick";
  EXPECT_EQ(reps.FlushDue(1100, [&](uint32_t) { ++flushed; }), UINT32_MAX);
  EXPECT_EQ(flushed, 1);
}

}  // namespace
}  // namespace roomcast::room
