// The systemd watchdog's decision from the shards' heartbeats: off without WATCHDOG_USEC, a ping
// every third of the interval while every shard turns, none while one shard's heartbeat is older
// than the stall limit, and pings again once it turns.
#include "service/watchdog.h"

#include <gtest/gtest.h>

#include <memory>

namespace roomcast::server {
namespace {

TEST(Watchdog, OffWithoutAnInterval) {
  auto m = std::make_unique<ShardMetrics[]>(2);
  Watchdog w(m.get(), 2, 0);
  EXPECT_FALSE(w.Enabled());
  EXPECT_FALSE(w.Due(100000));
  EXPECT_EQ(w.WaitMs(100000), 1000u);
}

TEST(Watchdog, PingsWhileEveryShardTurnsAndWithholdsForAStuckOne) {
  auto m = std::make_unique<ShardMetrics[]>(2);
  Watchdog w(m.get(), 2, 30'000'000);  // WatchdogSec=30: a ping every 10 s, stuck after 15 s
  ASSERT_TRUE(w.Enabled());
  EXPECT_EQ(w.StallLimitMs(), 15000u);
  uint64_t now = 1'000'000;
  ShardMetrics::Set(m[0].heartbeat_ms, now);
  ShardMetrics::Set(m[1].heartbeat_ms, now);
  EXPECT_TRUE(w.Due(now));
  EXPECT_FALSE(w.Due(now + 1));  // not due again before the interval
  EXPECT_EQ(w.WaitMs(now + 1), 9999u);

  now += 20000;  // shard 1 stopped turning 20 s ago
  ShardMetrics::Set(m[0].heartbeat_ms, now);
  EXPECT_FALSE(w.Due(now));

  now += 10000;  // it turns again
  ShardMetrics::Set(m[0].heartbeat_ms, now);
  ShardMetrics::Set(m[1].heartbeat_ms, now);
  EXPECT_TRUE(w.Due(now));
}

TEST(Watchdog, AShortIntervalStillAllowsAnIdleShardItsSecond) {
  auto m = std::make_unique<ShardMetrics[]>(1);
  Watchdog w(m.get(), 1, 1'000'000);  // WatchdogSec=1
  EXPECT_EQ(w.StallLimitMs(), Watchdog::kMinStallMs);
  ShardMetrics::Set(m[0].heartbeat_ms, 10000);
  EXPECT_TRUE(w.Due(10000 + Watchdog::kMinStallMs));
}

}  // namespace
}  // namespace roomcast::server
