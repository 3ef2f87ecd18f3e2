#include "room/dedup_window.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::room {
namespace {

TEST(DedupWindow, SameCidSameUserSameRoomWithinTheWindowIsFound) {
  DedupWindow w(60000, 100);
  EXPECT_EQ(w.Find("r", "alice", "c1", 1000), 0u);
  w.Remember("r", "alice", "c1", 7, 1000);
  EXPECT_EQ(w.Find("r", "alice", "c1", 1500), 7u);
  EXPECT_EQ(w.Find("r", "bob", "c1", 1500), 0u) << "another user's cid is another message";
  EXPECT_EQ(w.Find("r2", "alice", "c1", 1500), 0u) << "another room";
  EXPECT_EQ(w.Find("r", "alice", "c2", 1500), 0u);
}

TEST(DedupWindow, KeysDoNotRunIntoEachOther) {
  DedupWindow w(60000, 100);
  w.Remember("ab", "c", "d", 1, 0);
  EXPECT_EQ(w.Find("a", "bc", "d", 0), 0u);
  EXPECT_EQ(w.Find("ab", "c", "d", 0), 1u);
}

TEST(DedupWindow, EmptyCidIsNeverRemembered) {
  DedupWindow w(60000, 100);
  w.Remember("r", "alice", "", 3, 0);
  EXPECT_EQ(w.Size(), 0u);
  EXPECT_EQ(w.Find("r", "alice", "", 0), 0u);
}

TEST(DedupWindow, ForgetsAfterTheWindow) {
  DedupWindow w(1000, 100);
  w.Remember("r", "u", "c", 5, 10000);
  EXPECT_EQ(w.Find("r", "u", "c", 11000), 5u) << "the window's last ms still counts";
  EXPECT_EQ(w.Find("r", "u", "c", 11001), 0u);
  EXPECT_EQ(w.Size(), 0u) << "expired entries are freed";
}

TEST(DedupWindow, CountBoundDropsTheOldestFirst) {
  DedupWindow w(600000, 3);
  for (uint64_t i = 1; i <= 5; ++i) w.Remember("r", "u", "c" + std::to_string(i), i, 100 + i);
  EXPECT_EQ(w.Size(), 3u);
  EXPECT_EQ(w.Find("r", "u", "c1", 200), 0u);
  EXPECT_EQ(w.Find("r", "u", "c2", 200), 0u);
  EXPECT_EQ(w.Find("r", "u", "c3", 200), 3u);
  EXPECT_EQ(w.Find("r", "u", "c5", 200), 5u);
}

TEST(DedupWindow, ZeroWindowTurnsItOff) {
  DedupWindow w(0, 100);
  w.Remember("r", "u", "c", 1, 0);
  EXPECT_EQ(w.Find("r", "u", "c", 0), 0u);
}

TEST(DedupWindow, RememberedAgainKeepsTheNewerEntry) {
  DedupWindow w(1000, 100);
  w.Remember("r", "u", "c", 1, 0);
  w.Remember("r", "u", "c", 9, 900);  // e.g. resent after the first expired elsewhere
  EXPECT_EQ(w.Find("r", "u", "c", 1500), 9u) << "the old record must not erase the new entry";
}

}  // namespace
}  // namespace roomcast::room

namespace roomcast::room {
namespace {

TEST(DedupWindow, AdmitRemembersTheNewOneAndAnswersTheResend) {
  DedupWindow w(60000, 100);
  EXPECT_EQ(w.Admit("r", "u", "c1", 1000, 5), 0u) << "new: remembered as seq 5";
  EXPECT_EQ(w.Admit("r", "u", "c1", 1200, 6), 5u) << "resent: the original seq";
  EXPECT_EQ(w.Find("r", "u", "c1", 1300), 5u);
  EXPECT_EQ(w.Admit("r", "u", "", 1300, 7), 0u) << "no cid, no dedup";
  EXPECT_EQ(w.Size(), 1u);
}

TEST(DedupWindow, ChurnAtTheCountBoundKeepsExactlyTheNewest) {
  DedupWindow w(600000, 1000);
  for (uint64_t i = 1; i <= 20000; ++i) {
    ASSERT_EQ(w.Admit("r", "u", "c" + std::to_string(i), static_cast<int64_t>(i), i), 0u);
    if (i % 7 == 0)
      w.Remember("r", "u", "c" + std::to_string(i - 3), i - 3, static_cast<int64_t>(i));
  }
  EXPECT_LE(w.Size(), 1000u);
  EXPECT_EQ(w.Find("r", "u", "c20000", 20000), 20000u);
  EXPECT_EQ(w.Find("r", "u", "c1", 20000), 0u);
}

}  // namespace
}  // namespace roomcast::room

namespace roomcast::room {
namespace {

TEST(DedupWindow, PreloadKeepsTheNewestUpToTheBound) {
  DedupWindow w(600000, 3);
  for (uint64_t i = 1; i <= 10; ++i) w.Preload("r", "u", "c" + std::to_string(i), i, 100 + i);
  EXPECT_EQ(w.Size(), 0u) << "nothing is remembered before EndPreload";
  w.EndPreload();
  EXPECT_EQ(w.Size(), 3u);
  EXPECT_EQ(w.Find("r", "u", "c7", 200), 0u);
  EXPECT_EQ(w.Find("r", "u", "c8", 200), 8u);
  EXPECT_EQ(w.Find("r", "u", "c10", 200), 10u);
  EXPECT_EQ(w.Admit("r", "u", "c11", 200, 11), 0u) << "and it goes on as usual";
  EXPECT_EQ(w.Find("r", "u", "c8", 200), 0u) << "the oldest made room";
}

}  // namespace
}  // namespace roomcast::room
