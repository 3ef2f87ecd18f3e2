#include <gtest/gtest.h>

#include <set>

#include "longpoll/poll_pacing.h"

namespace roomcast::longpoll {
namespace {

TEST(BaseTimeout, QuietRoomIsZero) {
  PollPacing p;
  EXPECT_EQ(BaseTimeoutMs(p, RoomLoad{0, 1000, 5, 1000}), 0u);
  EXPECT_EQ(BaseTimeoutMs(p, RoomLoad{0, 50000, 5, 1000}), 0u) << "exactly the budget";
  EXPECT_EQ(BaseTimeoutMs(p, RoomLoad{0, 0, 5, 1000}), 0u);
}

TEST(BaseTimeout, BudgetZeroTurnsPacingOff) {
  PollPacing p;
  p.budget_per_sec = 0;
  EXPECT_EQ(BaseTimeoutMs(p, RoomLoad{1000, 1000000, 5, 1000}), 0u);
}

struct Case {
  const char* what;
  PollPacing pacing;
  RoomLoad load;
  uint32_t want_ms;
};

TEST(BaseTimeout, Table) {
  const PollPacing d;  // defaults: budget 2000/s, hold 25 s, max 10 s
  const Case cases[] = {
      {"100 pollers, 1 msg/s: 100 req/s", d, {1, 100, 5, 1000}, 0},
      {"10k pollers, 100 msg/s, flush 100 ms", d, {100, 10000, 100, 1000}, 4900},
      {"rounded up", d, {100, 10001, 100, 100000}, 4901},
      {"5k pollers, 10 msg/s", d, {10, 5000, 5, 1000}, 2400},
      {"quiet room, 60k pollers: the hold is not enough", d, {0, 60000, 5, 1000}, 5000},
      {"clamped by max_timeout_ms", d, {100, 100000, 100, 100000}, 10000},
      {"clamped by history: 1000 msgs at 1000 msg/s cover 1 s", d, {1000, 10000, 100, 1000}, 500},
      {"a rare message: the hold bounds the cycle", d, {0.001, 60000, 5, 1000}, 5000},
      {"budget 500", {500, 25000, 10000, 20}, {1, 1000, 5, 1000}, 1000},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BaseTimeoutMs(c.pacing, c.load), c.want_ms) << c.what;
  }
}

TEST(BaseTimeout, MorePollersNeverLowerTheWait) {
  PollPacing p;
  for (double rate : {0.0, 0.5, 3.0, 40.0, 250.0, 5000.0}) {
    for (uint32_t flush : {5u, 50u, 500u}) {
      uint32_t last = 0;
      for (uint32_t pollers = 0; pollers <= 200000; pollers += 997) {
        const uint32_t t = BaseTimeoutMs(p, RoomLoad{rate, pollers, flush, 1000});
        EXPECT_GE(t, last) << rate << " msg/s, " << pollers << " pollers";
        EXPECT_LE(t, p.max_timeout_ms);
        last = t;
      }
    }
  }
}

TEST(BaseTimeout, HigherRateNeverLowersTheWaitUntilHistoryBinds) {
  PollPacing p;
  // With a history long enough that the cap never binds, the wait only grows with the rate.
  for (uint32_t pollers : {10u, 3000u, 20000u, 60000u, 500000u}) {
    uint32_t last = 0;
    for (double rate = 0; rate <= 10000; rate = rate < 1 ? rate + 0.05 : rate * 1.1) {
      const uint32_t t = BaseTimeoutMs(p, RoomLoad{rate, pollers, 5, UINT32_MAX});
      EXPECT_GE(t, last) << rate << " msg/s, " << pollers << " pollers";
      last = t;
    }
  }
  // Once it binds, a hotter room gets a shorter wait: its history covers less time.
  const RoomLoad slower{100, 10000, 100, 1000};
  const RoomLoad hotter{1000, 10000, 100, 1000};
  EXPECT_GT(BaseTimeoutMs(p, slower), BaseTimeoutMs(p, hotter));
}

TEST(BaseTimeout, NeverOutrunsHalfTheHistory) {
  PollPacing p;
  p.max_timeout_ms = UINT32_MAX;
  for (double rate : {0.5, 2.0, 30.0, 700.0}) {
    for (uint32_t history : {10u, 1000u, 100000u}) {
      const uint32_t t = BaseTimeoutMs(p, RoomLoad{rate, 1000000, 5, history});
      EXPECT_LE(t, history / rate * 1000 / 2) << rate << " msg/s, history " << history;
    }
  }
}

TEST(Jitter, StaysInBandAndSlotsDiffer) {
  EXPECT_EQ(JitteredTimeoutMs(0, 20, 3, 4), 0u);
  EXPECT_EQ(JitteredTimeoutMs(1000, 20, 0, 4), 800u);
  EXPECT_EQ(JitteredTimeoutMs(1000, 20, 3, 4), 1200u);
  EXPECT_EQ(JitteredTimeoutMs(1000, 20, 7, 4), 1200u) << "slot is taken modulo slots";
  EXPECT_EQ(JitteredTimeoutMs(1000, 20, 5, 1), 1000u);
  EXPECT_EQ(JitteredTimeoutMs(1000, 0, 2, 4), 1000u);
  EXPECT_EQ(JitteredTimeoutMs(1000, 500, 0, 4), 1u) << "capped at 100%, never 0";
  for (uint32_t base : {1u, 7u, 100u, 4900u, 10000u}) {
    std::set<uint32_t> seen;
    for (uint32_t slot = 0; slot < 4; ++slot) {
      const uint32_t t = JitteredTimeoutMs(base, 20, slot, 4);
      EXPECT_GE(t, base * 0.8 - 0.5) << base;
      EXPECT_LE(t, base * 1.2 + 0.5) << base;
      EXPECT_GT(t, 0u);
      seen.insert(t);
    }
    if (base >= 100) {
      EXPECT_EQ(seen.size(), 4u) << base;
    }
  }
}

TEST(RateMeter, StartsAtZero) {
  RateMeter m;
  EXPECT_EQ(m.PerSec(0), 0);
  EXPECT_EQ(m.PerSec(5000), 0);
}

TEST(RateMeter, ConvergesToASteadyRate) {
  RateMeter m;
  // 100 msgs/s as 10 every 100 ms, for 20 s.
  uint64_t now = 1000000;
  for (int i = 0; i < 200; ++i, now += 100) m.Add(10, now);
  EXPECT_NEAR(m.PerSec(now), 100, 0.01);
  // The rate changes: the meter follows within a few seconds.
  for (int i = 0; i < 100; ++i, now += 100) m.Add(1, now);
  EXPECT_NEAR(m.PerSec(now), 10, 0.1);
}

TEST(RateMeter, FirstWindowCountsHalf) {
  RateMeter m;
  m.Add(40, 0);
  EXPECT_EQ(m.PerSec(999), 0) << "the window is still open";
  EXPECT_EQ(m.PerSec(1000), 20);
}

TEST(RateMeter, DecaysToZeroWhenIdle) {
  RateMeter m;
  uint64_t now = 0;
  for (int i = 0; i < 100; ++i, now += 100) m.Add(64, now);
  const double busy = m.PerSec(now);
  EXPECT_GT(busy, 600);
  // now sits at a window boundary with an empty open window: each idle second halves the rate.
  EXPECT_NEAR(m.PerSec(now + 1000), busy / 2, 1e-9);
  EXPECT_NEAR(m.PerSec(now + 2000), busy / 4, 1e-9);
  EXPECT_GT(m.PerSec(now + 7000), 0);
  EXPECT_EQ(m.PerSec(now + 8000), 0) << "8 idle seconds";
  EXPECT_EQ(m.PerSec(now + 60000), 0);
  // A long gap in one step decays the same way.
  RateMeter jump;
  for (int i = 0; i < 100; ++i) jump.Add(64, i * 100);
  EXPECT_EQ(jump.PerSec(10000 + 3600000), 0);
  jump.Add(10, 10000 + 3600000);
  EXPECT_EQ(jump.PerSec(10000 + 3601000), 5) << "a new message starts from 0";
}

TEST(RateMeter, TimeGoingBackwardsIsNoTime) {
  RateMeter m;
  m.Add(10, 5000);
  EXPECT_EQ(m.PerSec(1000), 0);
  m.Add(10, 4000);
  EXPECT_EQ(m.PerSec(6000), 10);
}

TEST(HeadRate, MeasuresGrowthEvenWhenSeenRarely) {
  HeadRate r;
  EXPECT_EQ(r.PerSec(0), 0);
  r.Observe(1000, 0);
  // Seen every 100 ms at 100 msg/s.
  for (uint64_t t = 100; t <= 5000; t += 100) r.Observe(1000 + t / 10, t);
  EXPECT_NEAR(r.PerSec(5000), 100, 1);
  // Nobody looks for 3 s, then one observation: the growth is spread over the time it covers.
  r.Observe(1000 + 8000 / 10, 8000);
  EXPECT_NEAR(r.PerSec(8000), 100, 1);
}

TEST(HeadRate, QuietAfterFourSecondsWithoutGrowth) {
  HeadRate r;
  for (uint64_t t = 0; t <= 3000; t += 100) r.Observe(t / 10, t);
  EXPECT_GT(r.PerSec(3000), 50);
  EXPECT_GT(r.PerSec(6900), 0) << "growth seen 3.9 s ago";
  EXPECT_EQ(r.PerSec(7000), 0) << "no growth for 4 s";
  r.Observe(300, 9000);  // the same head: still quiet
  EXPECT_EQ(r.PerSec(9000), 0);
  r.Observe(250, 9100);  // lower heads are ignored
  EXPECT_EQ(r.PerSec(9100), 0);
}

TEST(WaitingPollers, CountsAnsweredPollsUntilTheirWaitEnds) {
  WaitingPollers w(64000);  // 250 ms slots
  EXPECT_EQ(w.Away(0), 0u);
  w.Answered(1000, 0, 50);  // a wait of 0: away until the end of this 250 ms slot
  EXPECT_EQ(w.Away(1000), 50u);
  EXPECT_EQ(w.Away(1249), 50u);
  EXPECT_EQ(w.Away(1250), 0u);
  w.Answered(1000, 2000, 10);
  w.Answered(1000, 5000, 5);
  EXPECT_EQ(w.Away(1000), 15u);
  EXPECT_EQ(w.Away(2900), 15u);
  EXPECT_EQ(w.Away(3250), 5u) << "the 2 s waits are over";
  EXPECT_EQ(w.Away(6250), 0u);
  // Waits past the horizon count until the horizon's end; a long idle gap clears everything.
  w.Answered(10000, 100000, 3);
  EXPECT_EQ(w.Away(73000), 3u);
  EXPECT_EQ(w.Away(74250), 0u);
  w.Answered(30000, 1000, 7);
  EXPECT_EQ(w.Away(1000000), 0u);
}

}  // namespace
}  // namespace roomcast::longpoll
