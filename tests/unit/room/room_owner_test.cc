#include "roomcast/room_owner.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::room {
namespace {

TEST(OwnerShard, StableAndInRange) {
  for (int shards = 1; shards <= 8; ++shards) {
    int s = OwnerShardOf("lobby", shards);
    EXPECT_GE(s, 0);
    EXPECT_LT(s, shards);
    EXPECT_EQ(s, OwnerShardOf("lobby", shards));
  }
  // Rooms spread over shards rather than all landing on one.
  int hits[4] = {0, 0, 0, 0};
  for (int i = 0; i < 400; ++i) ++hits[OwnerShardOf("room-" + std::to_string(i), 4)];
  for (int h : hits) EXPECT_GT(h, 50);
}

TEST(OwnerRoom, SequenceIsStrictlyIncreasingByOne) {
  OwnerRoom r("r1", "abcd1234", 100, 2);
  for (uint64_t i = 1; i <= 50; ++i) {
    const SequencedMsg& m = r.Sequence({"r1", "alice", "hi", "", 1000});
    EXPECT_EQ(m.seq, i);
  }
  EXPECT_EQ(r.HeadSeq(), 50u);
}

TEST(OwnerRoom, MessageJsonIsExactAndEscaped) {
  OwnerRoom r("r1", "abcd1234", 10, 1);
  const SequencedMsg& m = r.Sequence({"r1", "alice", "say \"hi\"\n", "c-1", 1763800000123});
  EXPECT_EQ(
      m.json,
      R"({"type":"msg","room":"r1","seq":1,"id":"c-1","user":"alice","text":"say \"hi\"\n","ts":1763800000123})");
  const SequencedMsg& n = r.Sequence({"r1", "bob", "x", "", 5});
  EXPECT_EQ(
      n.json,
      R"({"type":"msg","room":"r1","seq":2,"id":"s-abcd1234-2","user":"bob","text":"x","ts":5})");
  EXPECT_EQ(r.MessageId("", 2), "s-abcd1234-2");
  EXPECT_EQ(r.MessageId("mine", 2), "mine");
}

TEST(OwnerRoom, HistoryKeepsTheLastN) {
  OwnerRoom r("r1", "e", 5, 1);
  for (int i = 0; i < 12; ++i) r.Sequence({"r1", "u", "m" + std::to_string(i), "", 0});
  auto recent = r.Recent(100);
  ASSERT_EQ(recent.size(), 5u);
  EXPECT_NE(recent.front().find(R"("seq":8)"), std::string::npos);
  EXPECT_NE(recent.back().find(R"("seq":12)"), std::string::npos);
  auto two = r.Recent(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two[0].find(R"("seq":11)"), std::string::npos);
  EXPECT_TRUE(r.Recent(0).empty());
}

TEST(OwnerRoom, NoHistoryWhenCapIsZero) {
  OwnerRoom r("r1", "e", 0, 1);
  EXPECT_EQ(r.Sequence({"r1", "u", "a", "", 0}).seq, 1u);
  EXPECT_EQ(r.Sequence({"r1", "u", "b", "", 0}).seq, 2u);
  EXPECT_TRUE(r.Recent(10).empty());
}

TEST(OwnerRoom, ViewerCountsPerShard) {
  OwnerRoom r("r1", "e", 1, 3);
  EXPECT_EQ(r.AddViewers(0, 2), 2u);
  EXPECT_EQ(r.AddViewers(2, 1), 1u);
  EXPECT_EQ(r.Online(), 3u);
  EXPECT_EQ(r.PerShard()[1], 0u);
  EXPECT_EQ(r.RemoveViewers(0, 1), 1u);
  EXPECT_EQ(r.RemoveViewers(0, 5), 0u) << "never below zero";
  EXPECT_EQ(r.Online(), 1u);
}

TEST(OwnerRooms, LimitAndEpochs) {
  OwnerRooms rooms(2, 10, 2);
  OwnerRoom* a = rooms.GetOrCreate("a");
  OwnerRoom* b = rooms.GetOrCreate("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(rooms.GetOrCreate("a"), a);
  EXPECT_EQ(rooms.GetOrCreate("c"), nullptr) << "max_rooms reached";
  EXPECT_EQ(rooms.Find("c"), nullptr);
  EXPECT_EQ(a->Epoch().size(), 8u);
  EXPECT_NE(a->Epoch(), b->Epoch());
}

}  // namespace
}  // namespace roomcast::room
