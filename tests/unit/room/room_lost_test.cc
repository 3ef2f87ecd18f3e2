// Seqs lost to a damaged log: holes between restored events and a tail that may be gone become
// gap placeholders; a resume across them is told, a history=N join skips them, and lost seqs are
// never handed out again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "room/room_owner.h"

namespace roomcast::room {
namespace {

std::string Msg(uint64_t seq) {
  return R"({"type":"msg","room":"r","seq":)" + std::to_string(seq) + "}";
}

OwnerRoom Restored(std::initializer_list<uint64_t> seqs, size_t cap = 100) {
  OwnerRoom r("r", "e1", cap, 1);
  for (uint64_t s : seqs) r.Restore(s, Msg(s), 0, 0);
  return r;
}

std::vector<std::string> Jsons(const std::vector<SequencedMsg>& v) {
  std::vector<std::string> out;
  for (const SequencedMsg& m : v) out.push_back(m.json);
  return out;
}

TEST(OwnerRoomLost, HasHolesSeesSeqsMissingBetweenKeptEventsOnly) {
  EXPECT_FALSE(Restored({5, 6, 7}).HasHoles());  // a history that begins late is no hole
  EXPECT_TRUE(Restored({5, 7}).HasHoles());
  OwnerRoom filled = Restored({5, 7});
  filled.FillHoles();
  EXPECT_FALSE(filled.HasHoles());  // the placeholder stands for 6
}

TEST(OwnerRoomLost, ShownIsTheKeptEventAtASeqUnlessHiddenOrLost) {
  OwnerRoom r = Restored({5, 7});
  r.FillHoles();
  ASSERT_NE(r.Shown(5), nullptr);
  EXPECT_EQ(r.Shown(5)->json, Msg(5));
  EXPECT_EQ(r.Shown(6), nullptr);  // the placeholder
  EXPECT_EQ(r.Shown(4), nullptr);
  EXPECT_EQ(r.Shown(8), nullptr);
  r.HideBefore(7);
  EXPECT_EQ(r.Shown(5), nullptr);
  EXPECT_NE(r.Shown(7), nullptr);
}

TEST(OwnerRoomLost, HolesBecomeGapsOnResume) {
  OwnerRoom r = Restored({1, 2, 5, 6, 9});
  r.FillHoles();
  EXPECT_EQ(r.LastSeq(), 9u);
  const auto res = r.Since(0, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(res.gap_to, 0u);
  EXPECT_EQ(Jsons(res.msgs),
            (std::vector<std::string>{
                Msg(1), Msg(2), R"({"type":"gap","room":"r","from":3,"to":4})", Msg(5), Msg(6),
                R"({"type":"gap","room":"r","from":7,"to":8})", Msg(9)}));
  EXPECT_EQ(res.last, 9u);
  EXPECT_TRUE(res.msgs[2].Lost());
  EXPECT_EQ(res.msgs[2].seq, 4u);  // an SSE id / cursor after it resumes past the hole
}

TEST(OwnerRoomLost, AResumeInsideAHoleIsToldOnlyWhatItLacks) {
  OwnerRoom r = Restored({1, 2, 8});
  r.FillHoles();
  const auto res = r.Since(4, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(Jsons(res.msgs),
            (std::vector<std::string>{R"({"type":"gap","room":"r","from":5,"to":7})", Msg(8)}));
}

TEST(OwnerRoomLost, HistoryJoinsSkipPlaceholders) {
  OwnerRoom r = Restored({1, 4});
  r.FillHoles();
  EXPECT_EQ(Jsons(r.Recent(10)), (std::vector<std::string>{Msg(1), Msg(4)}));
}

TEST(OwnerRoomLost, AMarkedTailIsNeverReusedAndResumesAcrossItGetAGap) {
  OwnerRoom r = Restored({1, 2, 3});
  r.FillHoles();
  r.MarkLost(4, 7);
  EXPECT_EQ(r.LastSeq(), 7u);
  EXPECT_EQ(r.HeadSeq(), 7u);
  const SequencedMsg& m = r.Sequence({"r", "u", "after", "", 1});
  EXPECT_EQ(m.seq, 8u);
  const auto res = r.Since(3, 100, OwnerRoom::Cap::kOldest);
  ASSERT_EQ(res.msgs.size(), 2u);
  EXPECT_EQ(res.msgs[0].json, R"({"type":"gap","room":"r","from":4,"to":7})");
  EXPECT_EQ(res.msgs[1].seq, 8u);
  // Below the head: MarkLost never moves seq back.
  r.MarkLost(2, 3);
  EXPECT_EQ(r.LastSeq(), 8u);
}

TEST(OwnerRoomLost, APlaceholderAtTheFrontOfHistoryCountsFromItsFirstSeq) {
  OwnerRoom r = Restored({1, 2, 10, 11}, 3);  // history keeps 3: the gap 3..9, 10, 11
  r.FillHoles();
  const auto res = r.Since(0, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(res.gap_from, 1u);
  EXPECT_EQ(res.gap_to, 2u);
  EXPECT_EQ(
      Jsons(res.msgs),
      (std::vector<std::string>{R"({"type":"gap","room":"r","from":3,"to":9})", Msg(10), Msg(11)}));
}

TEST(OwnerRoomLost, ALostSeqCannotBeRetracted) {
  OwnerRoom r = Restored({1, 5});
  r.FillHoles();
  const SequencedMsg* out = nullptr;
  EXPECT_EQ(r.Retract(4, "x", 1, 1, true, &out), OwnerRoom::RetractStatus::kGone);
  EXPECT_EQ(r.Retract(3, "x", 1, 1, true, &out), OwnerRoom::RetractStatus::kGone);
  EXPECT_EQ(r.Retract(5, "x", 1, 1, true, &out), OwnerRoom::RetractStatus::kOk);
}

}  // namespace
}  // namespace roomcast::room
