// The priority lane, retractions, visibility (durable log) and replay of an OwnerRoom.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "room/room_owner.h"

namespace roomcast::room {
namespace {

PublishInput Plain(std::string_view text) { return {"r", "u", text, "", 1}; }
PublishInput Prio(std::string_view text) {
  PublishInput in{"r", "sys", text, "", 1};
  in.prio = true;
  in.kind = "gift";
  return in;
}

std::vector<uint64_t> Seqs(const std::vector<SequencedMsg>& v) {
  std::vector<uint64_t> out;
  for (const auto& m : v) out.push_back(m.seq);
  return out;
}

TEST(OwnerRoomPrio, PrioMessageJsonCarriesPrioAndKind) {
  OwnerRoom r("r", "e", 10, 1);
  const SequencedMsg& m = r.Sequence(Prio("rose"));
  EXPECT_TRUE(m.Prio());
  EXPECT_EQ(
      m.json,
      R"({"type":"msg","room":"r","seq":1,"id":"s-e-1","user":"sys","text":"rose","ts":1,"prio":1,"kind":"gift"})");
}

TEST(OwnerRoomPrio, PrioOutlivesOrdinaryHistoryOnResume) {
  OwnerRoom r("r", "e", 5, 1);
  r.Sequence(Plain("a"));                               // 1
  r.Sequence(Prio("gift"));                             // 2
  for (int i = 0; i < 10; ++i) r.Sequence(Plain("x"));  // 3..12; history keeps 8..12
  auto res = r.Since(1, 100, OwnerRoom::Cap::kNewest);
  EXPECT_EQ(res.gap_from, 2u);
  EXPECT_EQ(res.gap_to, 7u);
  EXPECT_EQ(Seqs(res.msgs), (std::vector<uint64_t>{2, 8, 9, 10, 11, 12}))
      << "the priority message inside the gap comes first";
  // A capped resume never drops a priority message either.
  auto capped = r.Since(1, 2, OwnerRoom::Cap::kNewest);
  EXPECT_EQ(Seqs(capped.msgs), (std::vector<uint64_t>{2, 11, 12}));
}

TEST(OwnerRoomPrio, PrioFirstWithinARange) {
  OwnerRoom r("r", "e", 100, 1);
  r.Sequence(Plain("a"));  // 1
  r.Sequence(Plain("b"));  // 2
  r.Sequence(Prio("g"));   // 3
  r.Sequence(Plain("c"));  // 4
  auto res = r.Since(0, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(Seqs(res.msgs), (std::vector<uint64_t>{3, 1, 2, 4}));
  EXPECT_EQ(res.last, 4u);
}

TEST(OwnerRoomPrio, PagedResumeCarriesEveryPrioEventUpToTheHeadOnce) {
  OwnerRoom r("r", "e", 100, 1);
  r.Sequence(Plain("a"));  // 1
  r.Sequence(Prio("g1"));  // 2
  r.Sequence(Plain("b"));  // 3
  r.Sequence(Plain("c"));  // 4
  r.Sequence(Plain("d"));  // 5
  r.Sequence(Prio("g2"));  // 6
  r.Sequence(Plain("e"));  // 7
  // The first page covers seqs 1..2 (max 2): priority 2 in it, then 6, which is after the page
  // (priority events never wait behind pages), then ordinary 1.
  auto p1 = r.Since(0, 2, OwnerRoom::Cap::kPaged);
  EXPECT_EQ(Seqs(p1.msgs), (std::vector<uint64_t>{2, 6, 1}));
  EXPECT_EQ(p1.last, 2u);
  EXPECT_EQ(p1.gap_to, 0u);
  r.Sequence(Prio("g3"));  // 8, during the catch-up
  auto p2 = r.Since(p1.last, 2, OwnerRoom::Cap::kPaged, /*prio_sent_upto=*/7);
  EXPECT_EQ(Seqs(p2.msgs), (std::vector<uint64_t>{8, 3, 4})) << "2 and 6 are not sent again";
  EXPECT_EQ(p2.last, 4u);
  auto p3 = r.Since(p2.last, 2, OwnerRoom::Cap::kPaged, 8);
  EXPECT_EQ(Seqs(p3.msgs), (std::vector<uint64_t>{5}));
  EXPECT_EQ(p3.last, 6u);
  auto p4 = r.Since(p3.last, 2, OwnerRoom::Cap::kPaged, 8);
  EXPECT_EQ(Seqs(p4.msgs), (std::vector<uint64_t>{7}));
  EXPECT_EQ(p4.last, 8u) << "the rest fits: the head is reached";
}

TEST(OwnerRoomPrio, PagedResumeGapsOnlyWhatIsGoneAndFitsLikeNewest) {
  OwnerRoom r("r", "e", 5, 1);
  r.Sequence(Plain("a"));                               // 1
  r.Sequence(Prio("g"));                                // 2
  for (int i = 0; i < 10; ++i) r.Sequence(Plain("x"));  // 3..12; history keeps 8..12
  auto p = r.Since(1, 3, OwnerRoom::Cap::kPaged);
  EXPECT_EQ(p.gap_from, 2u);
  EXPECT_EQ(p.gap_to, 7u);
  EXPECT_EQ(Seqs(p.msgs), (std::vector<uint64_t>{2, 8, 9, 10}));
  EXPECT_EQ(p.last, 10u);
  // Within the limit, a paged resume is what kNewest gives; with max 0, too (all a gap).
  auto all = r.Since(1, 100, OwnerRoom::Cap::kPaged);
  auto newest = r.Since(1, 100, OwnerRoom::Cap::kNewest);
  EXPECT_EQ(Seqs(all.msgs), Seqs(newest.msgs));
  EXPECT_EQ(all.last, 12u);
  auto none = r.Since(1, 0, OwnerRoom::Cap::kPaged);
  EXPECT_EQ(none.last, 12u);
  EXPECT_EQ(Seqs(none.msgs), (std::vector<uint64_t>{2}));
}

TEST(OwnerRoomPrio, RecentReplaysPrioFirstIncludingOlderOnes) {
  OwnerRoom r("r", "e", 100, 1, 2);                    // keeps 2 priority events
  r.Sequence(Prio("g1"));                              // 1 (falls out of the priority list)
  r.Sequence(Prio("g2"));                              // 2
  r.Sequence(Prio("g3"));                              // 3
  for (int i = 0; i < 5; ++i) r.Sequence(Plain("x"));  // 4..8
  EXPECT_EQ(Seqs(r.Recent(3)), (std::vector<uint64_t>{2, 3, 6, 7, 8}));
  EXPECT_EQ(Seqs(r.Recent(1)), (std::vector<uint64_t>{3, 8})) << "at most n older ones";
  EXPECT_EQ(r.PrioKept(), 2u);
}

TEST(OwnerRoomRetract, HidesTheMessageEverywhereAndSequencesARetract) {
  OwnerRoom r("r", "e", 100, 1);
  r.Sequence(Plain("a"));          // 1
  r.Sequence(Plain("bad words"));  // 2
  r.Sequence(Plain("c"));          // 3
  const SequencedMsg* ev = nullptr;
  ASSERT_EQ(r.Retract(2, "spam", 77, 0, true, &ev), OwnerRoom::RetractStatus::kOk);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->seq, 4u);
  EXPECT_TRUE(ev->Prio());
  EXPECT_TRUE(ev->Retract());
  EXPECT_EQ(ev->json, R"({"type":"retract","room":"r","seq":2,"at":4,"reason":"spam","ts":77})");
  for (const auto& m : r.Since(0, 100, OwnerRoom::Cap::kOldest).msgs) {
    EXPECT_EQ(m.json.find("bad words"), std::string::npos);
  }
  EXPECT_EQ(Seqs(r.Since(0, 100, OwnerRoom::Cap::kOldest).msgs), (std::vector<uint64_t>{4, 1, 3}));
  EXPECT_EQ(Seqs(r.Recent(10)), (std::vector<uint64_t>{4, 1, 3}));
  EXPECT_EQ(r.Retract(2, "again", 0, 0, true, &ev), OwnerRoom::RetractStatus::kAlreadyRetracted);
  EXPECT_EQ(r.Retract(4, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kNotAMessage);
  EXPECT_EQ(r.Retract(99, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kNotFound);
  EXPECT_EQ(r.Retract(0, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kNotFound);
}

TEST(OwnerRoomRetract, RetractedPrioLeavesThePrioList) {
  OwnerRoom r("r", "e", 2, 1);
  r.Sequence(Prio("g"));  // 1
  const SequencedMsg* ev = nullptr;
  ASSERT_EQ(r.Retract(1, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kOk);  // 2
  for (int i = 0; i < 5; ++i) r.Sequence(Plain("x"));  // 3..7, history keeps 6..7
  auto res = r.Since(0, 100, OwnerRoom::Cap::kNewest);
  EXPECT_EQ(Seqs(res.msgs), (std::vector<uint64_t>{2, 6, 7}))
      << "the retract outlives history; the gift it removed is gone";
}

TEST(OwnerRoomRetract, OutOfHistoryOnlyWhatIsStillKnown) {
  OwnerRoom r("r", "e", 3, 1);
  r.Sequence(Plain("a"));  // 1
  r.Sequence(Prio("g"));   // 2
  const SequencedMsg* ev = nullptr;
  ASSERT_EQ(r.Retract(1, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kOk);  // 3
  for (int i = 0; i < 5; ++i) r.Sequence(Plain("x"));  // 4..8: history keeps 6..8
  EXPECT_EQ(r.Retract(1, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kAlreadyRetracted)
      << "its retract event is still on the priority list";
  EXPECT_EQ(r.Retract(3, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kNotAMessage);
  EXPECT_EQ(r.Retract(4, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kGone);
  EXPECT_EQ(r.Retract(2, "", 0, 0, true, &ev), OwnerRoom::RetractStatus::kOk)
      << "a priority message outlives history and stays retractable";
}

TEST(OwnerRoomVisibility, UnwrittenEventsAreNotShown) {
  OwnerRoom r("r", "e", 100, 1);
  r.Sequence(Plain("a"), false);
  r.Sequence(Plain("b"), false);
  EXPECT_EQ(r.LastSeq(), 2u);
  EXPECT_EQ(r.HeadSeq(), 0u);
  EXPECT_TRUE(r.Recent(10).empty());
  EXPECT_TRUE(r.Since(0, 10, OwnerRoom::Cap::kOldest).msgs.empty());
  r.MakeVisible(1);
  EXPECT_EQ(Seqs(r.Recent(10)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(Seqs(r.Since(0, 10, OwnerRoom::Cap::kOldest).msgs), (std::vector<uint64_t>{1}));
  r.MakeVisible(99);
  EXPECT_EQ(r.HeadSeq(), 2u) << "never past the last seq";
  const SequencedMsg* ev = nullptr;
  r.Sequence(Plain("c"), false);  // 3, unwritten
  EXPECT_EQ(r.Retract(3, "", 0, 0, false, &ev), OwnerRoom::RetractStatus::kNotFound)
      << "nobody has seen it yet";
}

TEST(OwnerRoomRestore, ReplayRebuildsHistoryPrioAndRetractsInAnyOrder) {
  OwnerRoom live("r", "e", 100, 1);
  std::vector<SequencedMsg> log;
  log.push_back(live.Sequence(Plain("a")));
  log.push_back(live.Sequence(Prio("g")));
  log.push_back(live.Sequence(Plain("bad")));
  const SequencedMsg* ev = nullptr;
  ASSERT_EQ(live.Retract(3, "x", 0, 0, true, &ev), OwnerRoom::RetractStatus::kOk);
  log.push_back(*ev);
  log.push_back(live.Sequence(Plain("d")));

  OwnerRoom back("r", "e", 100, 1);
  // Out of order (a changed shard count splits a room's log): 4,5 first, then 1..3, 4 again.
  for (size_t i : {3u, 4u, 0u, 1u, 2u, 3u}) {
    back.Restore(log[i].seq, log[i].json, log[i].flags, log[i].Retract() ? 3 : 0);
  }
  EXPECT_EQ(back.HeadSeq(), 5u);
  EXPECT_EQ(back.LastSeq(), 5u);
  auto a = live.Since(0, 100, OwnerRoom::Cap::kOldest);
  auto b = back.Since(0, 100, OwnerRoom::Cap::kOldest);
  EXPECT_EQ(Seqs(b.msgs), Seqs(a.msgs));
  for (const auto& m : b.msgs) EXPECT_EQ(m.json.find("bad"), std::string::npos);
  EXPECT_EQ(back.Sequence(Plain("e")).seq, 6u) << "seq continues";
}

TEST(OwnerRooms, RestoredRoomKeepsItsEpoch) {
  OwnerRooms rooms(1, 10, 1);
  OwnerRoom* r = rooms.GetOrCreateWithEpoch("kept", "abcd0001");
  EXPECT_EQ(r->Epoch(), "abcd0001");
  EXPECT_EQ(rooms.GetOrCreate("kept"), r);
  EXPECT_EQ(rooms.GetOrCreate("new"), nullptr) << "max_rooms counts restored rooms";
  rooms.Drop("kept");
  EXPECT_EQ(rooms.Find("kept"), nullptr);
}

}  // namespace
}  // namespace roomcast::room
