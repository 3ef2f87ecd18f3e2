#include "session/session_table.h"

#include <gtest/gtest.h>

namespace roomcast::session {
namespace {

TEST(SessionTable, EachConnectionInASlotGetsTheNextGeneration) {
  SessionTable t(3);
  Session& a = t.Open(5, 10);
  EXPECT_EQ(a.kind, SessKind::kHttp);
  EXPECT_EQ(a.last_active, 10u);
  const uint32_t g1 = a.gen;
  t.Release(5);
  EXPECT_EQ(t.Get(5).kind, SessKind::kFree);
  EXPECT_EQ(t.Get(5).gen, g1);  // an answer for the old connection still carries g1...
  Session& b = t.Open(5, 11);
  EXPECT_EQ(b.gen, g1 + 1);  // ...and no longer matches
  EXPECT_EQ(t.SlotBound(), 6u);
  t.Open(4000, 0);  // a later chunk
  EXPECT_EQ(t.SlotBound(), 4001u);
}

TEST(SessionTable, ProfilesAreInternedAndFreedWithTheirLastConnection) {
  SessionTable t(2);
  t.Open(1, 0);
  t.Open(2, 0);
  t.Open(3, 0);
  EXPECT_EQ(t.UserName(1), "anon-2-1-" + std::to_string(t.Get(1).gen));
  EXPECT_EQ(t.Profile(1), nullptr);
  auth::Identity alice;
  alice.sub = "alice";
  alice.name = "Alice";
  alice.exp = 100;
  alice.roles = auth::Bit(auth::Role::kVip);
  alice.badges = {"vip", "og"};
  t.SetUser(1, alice);
  t.SetUser(2, alice);  // the same token on another connection: one profile
  t.SetUser(3, "bob");
  EXPECT_EQ(t.ProfileCount(), 2u);
  EXPECT_EQ(t.Get(1).user, t.Get(2).user);
  EXPECT_EQ(t.UserName(2), "alice");
  ASSERT_NE(t.Profile(1), nullptr);
  EXPECT_EQ(t.Profile(1)->badges_json, R"(["vip","og"])");
  EXPECT_EQ(t.Profile(1)->id.name, "Alice");
  EXPECT_EQ(t.Profile(3)->badges_json, "");
  const uint32_t slot = t.Get(1).user;
  t.Release(1);
  EXPECT_EQ(t.UserName(2), "alice");  // still held by connection 2
  auth::Identity refreshed = alice;
  refreshed.exp = 200;  // a refresh: another profile, the old one goes with its last holder
  t.SetUser(2, refreshed);
  EXPECT_EQ(t.Profile(2)->id.exp, 200);
  EXPECT_EQ(t.ProfileCount(), 2u);
  EXPECT_EQ(t.Get(2).user, slot);  // the freed profile slot is taken again
  t.Open(4, 0);
  t.SetUser(4, "carol");
  EXPECT_EQ(t.UserName(4), "carol");
  t.Release(2);
  t.Release(3);
  t.Release(4);
  EXPECT_EQ(t.ProfileCount(), 0u);
}

TEST(SessionTable, HeldInputExistsOnlyWhileNeeded) {
  SessionTable t(0);
  Session& s = t.Open(7, 0);
  EXPECT_EQ(s.pending, nullptr);
  SessionTable::Pending(s).input = "GET / HT";
  EXPECT_NE(s.pending, nullptr);
  EXPECT_EQ(&SessionTable::Pending(s), s.pending.get());
  t.Release(7);  // frees it (ASan would report a leak otherwise)
  EXPECT_EQ(t.Get(7).pending, nullptr);
}

}  // namespace
}  // namespace roomcast::session
