// The replay of the local cache (--redis with --data-dir; owner/cache_log.h) into the rooms'
// copies: what comes back, and when a copy starts over or is dropped.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "owner/owner_service.h"
#include "owner_fakes.h"

namespace roomcast::owner {
namespace {

using namespace fakes;  // NOLINT: the shared fakes

struct Replay {
  Fixture f;
  RecordingOutbox out;
  MemoryEventLog log{&out};
  OwnerService owner{0, f.opt, &log, &out, f.Counters()};
  std::vector<std::string> jsons;  // the records' texts (a Record only views them)

  void Event(std::string_view room, std::string_view epoch, uint64_t seq, int64_t ts = 1000,
             std::string json = {}, uint8_t flags = 0, uint64_t target = 0,
             std::string_view user = {}) {
    if (json.empty()) {
      json = R"({"type":"msg","room":")" + std::string(room) + R"(","seq":)" + std::to_string(seq) +
             "}";
    }
    jsons.push_back(std::move(json));
    store::Record rec;
    rec.seq = seq;
    rec.target = target;
    rec.ts_ms = ts;
    rec.flags = flags;
    rec.room = room;
    rec.epoch = epoch;
    rec.user = user;
    rec.json = jsons.back();
    owner.RestoreCopy(rec);
  }
  void Reset(std::string_view room, std::string_view epoch) {
    store::Record rec;
    rec.flags = store::kRecControl;
    rec.room = room;
    rec.epoch = epoch;
    rec.json = R"({"reset":true})";
    owner.RestoreCopy(rec);
  }
  std::vector<uint64_t> Seqs(std::string_view room) {
    std::vector<uint64_t> out;
    room::OwnerRoom* r = owner.Rooms().Find(room);
    if (!r) return out;
    for (const auto& m : r->Since(0, 1000, room::OwnerRoom::Cap::kOldest).msgs) {
      out.push_back(m.seq);
    }
    return out;
  }
};

TEST(OwnerCache, EventsComeBackWithTheirEpochSeqAndSender) {
  Replay rp;
  rp.Event("r", "E1", 5, 1000, {}, 0, 0, std::to_string(room::UserTag("alice")));
  rp.Event("r", "E1", 6);
  EXPECT_EQ(rp.owner.EndRestoreCopies(), 1u);
  room::OwnerRoom* r = rp.owner.Rooms().Find("r");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->Epoch(), "E1");
  EXPECT_EQ(r->LastSeq(), 6u);
  EXPECT_EQ(rp.Seqs("r"), (std::vector<uint64_t>{5, 6}));
  // The sender's tag came back: a ban would retract alice's message.
  EXPECT_EQ(r->MessagesBy(room::UserTag("alice"), 0), (std::vector<uint64_t>{5}));
}

TEST(OwnerCache, ARetractionHidesItsTargetAndAClearWhatCameBefore) {
  Replay rp;
  for (uint64_t s = 1; s <= 3; ++s) rp.Event("r", "E1", s);
  rp.Event("r", "E1", 4, 1000, R"({"type":"retract","room":"r","seq":2,"at":4})",
           store::kRecPrio | store::kRecRetract, 2);
  rp.Event("q", "E1", 1);
  rp.Event("q", "E1", 2, 1000, R"({"type":"clear","room":"q","seq":2})", store::kRecPrio);
  rp.Event("q", "E1", 3);
  rp.owner.EndRestoreCopies();
  room::OwnerRoom* r = rp.owner.Rooms().Find("r");
  EXPECT_EQ(r->Shown(2), nullptr);
  EXPECT_NE(r->Shown(3), nullptr);
  room::OwnerRoom* q = rp.owner.Rooms().Find("q");
  EXPECT_EQ(q->Shown(1), nullptr);
  EXPECT_NE(q->Shown(2), nullptr);
  EXPECT_NE(q->Shown(3), nullptr);
}

TEST(OwnerCache, AResetRecordOrASeqNotAboveTheLastStartsTheCopyOver) {
  Replay rp;
  for (uint64_t s = 1; s <= 5; ++s) rp.Event("r", "E1", s);
  rp.Reset("r", "E1");
  rp.Event("r", "E1", 8);  // read anew after the reset: the stream began at 8
  for (uint64_t s = 1; s <= 4; ++s) rp.Event("q", "E1", s);
  rp.Event("q", "E1", 3);  // read anew (no reset record: a torn tail lost it)
  rp.owner.EndRestoreCopies();
  EXPECT_EQ(rp.Seqs("r"), (std::vector<uint64_t>{8}));
  EXPECT_EQ(rp.Seqs("q"), (std::vector<uint64_t>{3}));
}

TEST(OwnerCache, AGapsResetRecordKeepsWhatCameAfterTheGap) {
  Replay rp;
  for (uint64_t s = 1; s <= 3; ++s) rp.Event("r", "E1", s);
  rp.Reset("r", "E1");  // CacheLog writes one for a gap placeholder (4..9 trimmed away)
  rp.Event("r", "E1", 10);
  rp.Event("r", "E1", 11);
  EXPECT_EQ(rp.owner.EndRestoreCopies(), 1u);  // no hole: kept
  EXPECT_EQ(rp.Seqs("r"), (std::vector<uint64_t>{10, 11}));
}

TEST(OwnerCache, TheNewerEpochWins) {
  Replay rp;
  rp.Event("r", "E1", 7, 1000);
  rp.Event("r", "E2", 1, 2000);  // Redis started the room over
  rp.Event("r", "E1", 8, 1500);  // an older record read later (another shard's directory)
  rp.owner.EndRestoreCopies();
  room::OwnerRoom* r = rp.owner.Rooms().Find("r");
  EXPECT_EQ(r->Epoch(), "E2");
  EXPECT_EQ(rp.Seqs("r"), (std::vector<uint64_t>{1}));
}

TEST(OwnerCache, ACopyWithAHoleIsDroppedWhole) {
  Replay rp;
  rp.Event("holed", "E1", 1);
  rp.Event("holed", "E1", 3);
  rp.Event("whole", "E1", 10);
  rp.Event("whole", "E1", 11);
  EXPECT_EQ(rp.owner.EndRestoreCopies(), 1u);
  EXPECT_EQ(rp.owner.Rooms().Find("holed"), nullptr);
  EXPECT_NE(rp.owner.Rooms().Find("whole"), nullptr);
}

TEST(OwnerCache, AResetOfARoomTheCacheHoldsNothingOfMakesNoRoom) {
  Replay rp;
  rp.Event("r", "E1", 1);
  rp.Reset("other", "E1");  // a reset of a room the cache holds nothing of
  EXPECT_EQ(rp.owner.EndRestoreCopies(), 1u);
  EXPECT_EQ(rp.owner.Rooms().Find("other"), nullptr);
}

}  // namespace
}  // namespace roomcast::owner
