#include "mesh/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace roomcast {
namespace {

TEST(SpscRing, RoundsCapacityUpToPowerOfTwo) {
  SpscRing<int> r(5);
  EXPECT_EQ(r.Capacity(), 8u);
}

TEST(SpscRing, FifoAndFullIsBackPressure) {
  SpscRing<int> r(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.TryPush(i));
  EXPECT_FALSE(r.TryPush(99)) << "a full ring must refuse, not overwrite";
  int v = -1;
  EXPECT_TRUE(r.TryPop(&v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(r.TryPush(4));
  for (int want = 1; want <= 4; ++want) {
    ASSERT_TRUE(r.TryPop(&v));
    EXPECT_EQ(v, want);
  }
  EXPECT_FALSE(r.TryPop(&v));
  EXPECT_TRUE(r.EmptyApprox());
}

TEST(SpscRing, PopBatchRespectsMaxAndOrder) {
  SpscRing<int> r(16);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.TryPush(i));
  std::vector<int> got;
  EXPECT_EQ(r.PopBatch(4, [&](int x) { got.push_back(x); }), 4u);
  EXPECT_EQ(r.PopBatch(100, [&](int x) { got.push_back(x); }), 6u);
  EXPECT_EQ(r.PopBatch(100, [&](int x) { got.push_back(x); }), 0u);
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], i);
}

TEST(SpscRing, WrapsAroundManyTimes) {
  SpscRing<uint64_t> r(8);
  uint64_t next_in = 0, next_out = 0, v = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.TryPush(next_in++));
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(r.TryPop(&v));
      ASSERT_EQ(v, next_out++);
    }
  }
}

// Two threads: every item arrives exactly once and in order, with a small ring so that the
// producer hits "full" often and the consumer hits "empty" often.
TEST(SpscRing, TwoThreadStressEveryItemOnceInOrder) {
  constexpr uint64_t kItems = 2'000'000;
  SpscRing<uint64_t> r(64);
  uint64_t full_hits = 0;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kItems;) {
      if (r.TryPush(i)) {
        ++i;
      } else {
        ++full_hits;
        std::this_thread::yield();
      }
    }
  });
  uint64_t expect = 0;
  bool in_order = true;
  while (expect < kItems) {
    size_t n = r.PopBatch(32, [&](uint64_t x) {
      if (x != expect) in_order = false;
      ++expect;
    });
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expect, kItems);
  uint64_t extra;
  EXPECT_FALSE(r.TryPop(&extra));
  RecordProperty("full_hits", static_cast<int>(full_hits));
}

}  // namespace
}  // namespace roomcast
