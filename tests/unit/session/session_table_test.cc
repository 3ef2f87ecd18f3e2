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

TEST(SessionTable, NamesAreInternedAndTheirSlotsReused) {
  SessionTable t(2);
  t.Open(1, 0);
  t.Open(2, 0);
  EXPECT_EQ(t.UserName(1), "anon-2-1-" + std::to_string(t.Get(1).gen));
  t.SetUser(1, "alice");
  t.SetUser(2, "bob");
  EXPECT_EQ(t.UserName(1), "alice");
  t.SetUser(1, "alice2");  // renaming keeps its slot
  EXPECT_EQ(t.UserName(1), "alice2");
  EXPECT_EQ(t.UserName(2), "bob");
  const uint32_t slot = t.Get(1).user;
  t.Release(1);
  t.Open(3, 0);
  t.SetUser(3, "carol");
  EXPECT_EQ(t.Get(3).user, slot);  // the freed name slot is taken again
  EXPECT_EQ(t.UserName(3), "carol");
  EXPECT_EQ(t.UserName(2), "bob");
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
