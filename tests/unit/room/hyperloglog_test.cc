#include "room/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace roomcast::room {
namespace {

double RelError(uint64_t est, uint64_t truth) {
  return std::fabs(static_cast<double>(est) - static_cast<double>(truth)) /
         static_cast<double>(truth);
}

TEST(HyperLogLog, WithinTwoPercentAtTenThousandAHundredThousandAndAMillion) {
  for (uint64_t n : {10'000ull, 100'000ull, 1'000'000ull}) {
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) h.Add(HashItem("user-" + std::to_string(i)));
    double err = RelError(h.Estimate(), n);
    EXPECT_LT(err, 0.02) << n << " estimated " << h.Estimate();
    RecordProperty("error_at_" + std::to_string(n), std::to_string(err));
  }
}

TEST(HyperLogLog, SmallCountsAreNearlyExactAndRepeatsDoNotCount) {
  HyperLogLog h;
  EXPECT_EQ(h.Estimate(), 0u);
  for (int rep = 0; rep < 3; ++rep) {
    for (int i = 0; i < 100; ++i) h.Add(HashItem("u" + std::to_string(i)));
  }
  EXPECT_EQ(h.Estimate(), 100u);
  EXPECT_LT(h.Bytes(), 1024u);  // still sparse
}

TEST(HyperLogLog, MergedShardsCountAsOne) {
  HyperLogLog a, b, all;
  for (int i = 0; i < 60'000; ++i) {
    uint64_t x = HashItem("user-" + std::to_string(i));
    (i % 3 == 0 ? a : b).Add(x);
    if (i % 2 == 0) a.Add(x);  // overlap between the shards
    all.Add(x);
  }
  a.Merge(b);
  EXPECT_EQ(a.Estimate(), all.Estimate());
  EXPECT_LT(RelError(a.Estimate(), 60'000), 0.02);
}

TEST(HyperLogLog, SerializesSparseAndDense) {
  for (int n : {10, 50'000}) {
    HyperLogLog h, back;
    for (int i = 0; i < n; ++i) h.Add(HashItem(std::to_string(i)));
    ASSERT_TRUE(back.Deserialize(h.Serialize()));
    EXPECT_EQ(back.Estimate(), h.Estimate());
  }
  HyperLogLog bad;
  EXPECT_FALSE(bad.Deserialize(""));
  EXPECT_FALSE(bad.Deserialize("S123"));
  EXPECT_FALSE(bad.Deserialize("Dxyz"));
  EXPECT_FALSE(bad.Deserialize(std::string("S\x00\x00\x00\x00", 5)));  // rho 0
}

TEST(RollingUnique, ForgetsWhatIsOlderThanTheWindow) {
  RollingUnique r(5);
  uint64_t t = 10 * 60'000;
  for (int i = 0; i < 1000; ++i) r.Add(HashItem("early" + std::to_string(i)), t);
  for (int i = 0; i < 500; ++i) r.Add(HashItem("late" + std::to_string(i)), t + 3 * 60'000);
  EXPECT_LT(RelError(r.Estimate(t + 3 * 60'000), 1500), 0.02);
  EXPECT_LT(RelError(r.Estimate(t + 5 * 60'000), 500), 0.02);  // the early minute left
  EXPECT_EQ(r.Estimate(t + 60 * 60'000), 0u);
  EXPECT_LT(RelError(r.Total(), 1500), 0.02);
}

}  // namespace
}  // namespace roomcast::room
