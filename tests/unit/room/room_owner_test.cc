#include "room/room_owner.h"

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
  EXPECT_NE(recent.front().json.find(R"("seq":8)"), std::string::npos);
  EXPECT_NE(recent.back().json.find(R"("seq":12)"), std::string::npos);
  auto two = r.Recent(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two[0].json.find(R"("seq":11)"), std::string::npos);
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

// The seq inside a message object's JSON.
uint64_t SeqOf(const SequencedMsg& m) {
  const size_t p = m.json.find(R"("seq":)");
  const uint64_t in_json = p == std::string::npos ? 0 : std::stoull(m.json.substr(p + 6));
  EXPECT_EQ(in_json, m.seq);
  return m.seq;
}

TEST(OwnerRoomSince, WithinHistoryEveryLaterMessageOnce) {
  OwnerRoom r("r1", "e", 10, 1);
  for (int i = 0; i < 8; ++i) r.Sequence({"r1", "u", "m", "", 0});
  for (auto cap : {OwnerRoom::Cap::kOldest, OwnerRoom::Cap::kNewest}) {
    auto res = r.Since(5, 100, cap);
    EXPECT_EQ(res.gap_to, 0u);
    ASSERT_EQ(res.msgs.size(), 3u);
    EXPECT_EQ(SeqOf(res.msgs[0]), 6u);
    EXPECT_EQ(SeqOf(res.msgs[2]), 8u);
    EXPECT_EQ(res.last, 8u);
  }
  auto at_head = r.Since(8, 100, OwnerRoom::Cap::kOldest);
  EXPECT_TRUE(at_head.msgs.empty());
  EXPECT_EQ(at_head.gap_to, 0u);
  EXPECT_EQ(at_head.last, 8u);
}

TEST(OwnerRoomSince, OlderThanHistoryGivesAGapThenWhatIsKept) {
  OwnerRoom r("r1", "e", 5, 1);
  for (int i = 0; i < 20; ++i) r.Sequence({"r1", "u", "m", "", 0});  // keeps 16..20
  auto res = r.Since(3, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(res.gap_from, 4u);
  EXPECT_EQ(res.gap_to, 15u);
  ASSERT_EQ(res.msgs.size(), 5u);
  EXPECT_EQ(SeqOf(res.msgs.front()), 16u);
  EXPECT_EQ(res.last, 20u);
}

TEST(OwnerRoomSince, CapOldestStopsEarlyCapNewestSkipsWithAGap) {
  OwnerRoom r("r1", "e", 100, 1);
  for (int i = 0; i < 50; ++i) r.Sequence({"r1", "u", "m", "", 0});
  auto oldest = r.Since(10, 5, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(oldest.gap_to, 0u);
  ASSERT_EQ(oldest.msgs.size(), 5u);
  EXPECT_EQ(SeqOf(oldest.msgs.front()), 11u);
  EXPECT_EQ(oldest.last, 15u);  // a poller goes on from here
  auto newest = r.Since(10, 5, OwnerRoom::Cap::kNewest);
  EXPECT_EQ(newest.gap_from, 11u);
  EXPECT_EQ(newest.gap_to, 45u);
  ASSERT_EQ(newest.msgs.size(), 5u);
  EXPECT_EQ(SeqOf(newest.msgs.front()), 46u);
  EXPECT_EQ(newest.last, 50u);  // live messages follow with no hole
}

TEST(OwnerRoomSince, AboveTheHeadCountsAsZero) {
  OwnerRoom r("r1", "e", 100, 1);
  for (int i = 0; i < 3; ++i) r.Sequence({"r1", "u", "m", "", 0});
  auto res = r.Since(500, 100, OwnerRoom::Cap::kNewest);
  EXPECT_EQ(res.gap_to, 0u);
  ASSERT_EQ(res.msgs.size(), 3u);
  EXPECT_EQ(SeqOf(res.msgs.front()), 1u);
}

TEST(OwnerRoomSince, NoHistoryKeptMeansAllIsGap) {
  OwnerRoom r("r1", "e", 0, 1);
  for (int i = 0; i < 4; ++i) r.Sequence({"r1", "u", "m", "", 0});
  auto res = r.Since(1, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(res.gap_from, 2u);
  EXPECT_EQ(res.gap_to, 4u);
  EXPECT_TRUE(res.msgs.empty());
  EXPECT_EQ(res.last, 4u);
}

}  // namespace
}  // namespace roomcast::room
