// ReplayLog: every shard directory in shard order, damage reported per segment, nothing modified.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "store/segment_log.h"
#include "store_test_util.h"

namespace roomcast::store {
namespace {

using namespace testing;  // NOLINT: the helpers of this test folder

// Writes seqs [from, to] of `room` into shard `shard`'s log.
void WriteShard(const std::string& data_dir, int shard, const std::string& room, uint64_t from,
                uint64_t to, uint64_t segment_bytes = 64ull << 20, size_t text_len = 20) {
  LogOptions o;
  o.data_dir = data_dir;
  o.shard = shard;
  o.segment_bytes = segment_bytes;
  o.fsync = FsyncPolicy::kNever;
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
  for (uint64_t s = from; s <= to; ++s) {
    log.Append(MakeRecord(room, s, text_len).View());
    if (s % 4 == 0 || s == to) WriteOneBatch(&log);
  }
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().string()] = ReadFile(e.path().string());
  }
  return files;
}

TEST(ReplayLog, MissingLogDirectoryIsZeroRecords) {
  TempDir tmp;
  Replayed r = ReplayAll(tmp.path());
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.report.shards, 0u);
  EXPECT_EQ(ReplayAll(tmp.path() + "/nowhere").rc, 0);
}

TEST(ReplayLog, UnreadableLogDirectoryIsAnError) {
  TempDir tmp;
  WriteFile(tmp.path() + "/log", "not a directory");
  Replayed r = ReplayAll(tmp.path());
  EXPECT_EQ(r.rc, -ENOTDIR);
  EXPECT_NE(r.error.find(tmp.path() + "/log"), std::string::npos) << r.error;
}

TEST(ReplayLog, ReadsEveryShardInShardNumberOrder) {
  TempDir tmp;
  WriteShard(tmp.path(), 10, "ten", 1, 5);
  WriteShard(tmp.path(), 2, "two", 1, 7);
  WriteShard(tmp.path(), 0, "zero", 1, 3, 400);  // several segments
  // Things that are not shard directories are ignored.
  WriteFile(tmp.path() + "/log/shard-5", "a file");
  std::filesystem::create_directories(tmp.path() + "/log/shard-x");
  std::filesystem::create_directories(tmp.path() + "/log/other");
  WriteFile(tmp.ShardDir(2) + "/notes.txt", "hello");
  WriteFile(tmp.ShardDir(2) + "/1.seg", "short name");

  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_TRUE(r.report.problems.empty());
  EXPECT_EQ(r.report.shards, 3u);
  ASSERT_EQ(r.records.size(), 15u);
  std::vector<std::string> order;
  for (const OwnedRecord& rec : r.records) {
    if (order.empty() || order.back() != rec.room) order.push_back(rec.room);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"zero", "two", "ten"}));
  EXPECT_EQ(r.records[0], MakeRecord("zero", 1));
  EXPECT_EQ(r.records[3], MakeRecord("two", 1));
  EXPECT_EQ(r.records[14], MakeRecord("ten", 5));
  EXPECT_EQ(r.report.records, 15u);
}

TEST(ReplayLog, ABadRecordCostsOnlyItselfAndIsReportedInOrder) {
  TempDir tmp;
  WriteShard(tmp.path(), 0, "r", 1, 40, 1000);
  const std::string seg1 = SegPath(tmp.ShardDir(0), 1);
  const std::string seg2 = SegPath(tmp.ShardDir(0), 2);
  ASSERT_TRUE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 3)));
  Replayed clean = ReplayAll(tmp.path());
  ASSERT_EQ(clean.records.size(), 40u);
  EXPECT_TRUE(clean.damage.empty());
  // Segment 1: flip a byte in its third record. Segment 2 (closed: segment 3 follows): cut
  // inside its last record, which no crash can do to a closed segment, so it is damage too.
  std::string s1 = ReadFile(seg1);
  std::string s2 = ReadFile(seg2);
  const std::vector<size_t> at1 = RecordOffsets(s1);
  const std::vector<size_t> at2 = RecordOffsets(s2);
  ASSERT_GE(at1.size(), 4u);
  ASSERT_GE(at2.size(), 2u);
  s1[at1[2] + 20] ^= 1;
  WriteFile(seg1, s1);
  WriteFile(seg2, s2.substr(0, s2.size() - 5));
  const auto before = Snapshot(tmp.path());

  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(Snapshot(tmp.path()), before);  // modifies nothing
  ASSERT_EQ(r.report.problems.size(), 2u);
  EXPECT_TRUE(HasProblem(r.report.problems, {seg1, "offset " + std::to_string(at1[2]), "crc"}));
  EXPECT_TRUE(
      HasProblem(r.report.problems, {seg2, "offset " + std::to_string(at2.back()), "torn"}));
  // Every record but the third and the last of segment 2.
  const uint64_t lost2 = at1.size() + at2.size();
  std::vector<uint64_t> want, got;
  for (uint64_t s = 1; s <= 40; ++s) {
    if (s != 3 && s != lost2) want.push_back(s);
  }
  for (const OwnedRecord& g : r.records) got.push_back(g.seq);
  EXPECT_EQ(got, want);
  const uint64_t bad1 = at1[3] - at1[2];
  const uint64_t bad2 = s2.size() - 5 - at2.back();
  EXPECT_EQ(r.report.cut_bytes, bad1 + bad2);
  EXPECT_EQ(r.report.damaged, 2u);
  ASSERT_EQ(r.damage.size(), 2u);
  EXPECT_EQ(r.damage[0].after_records, 2u);  // in order with the records around it
  EXPECT_EQ(r.damage[0].file, seg1);
  EXPECT_EQ(r.damage[0].offset, at1[2]);
  EXPECT_EQ(r.damage[0].bytes, bad1);
  EXPECT_GE(r.damage[0].max_records, 1u);
  EXPECT_EQ(r.damage[0].max_records, MaxRecordsIn(bad1));
  EXPECT_EQ(r.damage[1].after_records, lost2 - 2);
  EXPECT_EQ(r.damage[1].file, seg2);
  EXPECT_EQ(r.damage[1].bytes, bad2);
  EXPECT_EQ(r.report.segments, clean.report.segments);
}

TEST(ReplayLog, EveryBitFlipInARecordCostsThatRecordOnly) {
  TempDir tmp;
  WriteShard(tmp.path(), 0, "r", 1, 9, 1u << 20);
  const std::string seg = SegPath(tmp.ShardDir(0), 1);
  const std::string good = ReadFile(seg);
  const std::vector<size_t> at = RecordOffsets(good);
  ASSERT_EQ(at.size(), 9u);
  // Record 5: every byte of it, the frame header's length and crc included, one bit at a time.
  for (size_t off = at[4]; off < at[5]; ++off) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[off] = static_cast<char>(bad[off] ^ (1 << bit));
      WriteFile(seg, bad);
      Replayed r = ReplayAll(tmp.path());
      ASSERT_EQ(r.rc, 0);
      std::vector<uint64_t> got;
      for (const OwnedRecord& g : r.records) got.push_back(g.seq);
      ASSERT_EQ(got, (std::vector<uint64_t>{1, 2, 3, 4, 6, 7, 8, 9}))
          << "offset " << off << " bit " << bit;
      ASSERT_EQ(r.damage.size(), 1u) << "offset " << off << " bit " << bit;
      EXPECT_EQ(r.damage[0].after_records, 4u);
      EXPECT_EQ(r.damage[0].offset, at[4]);
      EXPECT_EQ(r.damage[0].bytes, at[5] - at[4]);
    }
  }
}

TEST(ReplayLog, GarbageShortAndEmptyFilesAreReportedAndSkipped) {
  TempDir tmp;
  WriteShard(tmp.path(), 0, "r", 1, 5);
  const std::string d = tmp.ShardDir(0);
  WriteFile(SegPath(d, 2), std::string(10000, '\xAB'));
  WriteFile(SegPath(d, 3), "RCLOG");
  WriteFile(SegPath(d, 4), "");
  WriteFile(SegPath(d, 5), std::string("RCLOG\0\1\0", 8) + std::string(8, '\0') + "junk");
  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.report.segments, 5u);
  EXPECT_TRUE(HasProblem(r.report.problems, {SegPath(d, 2), "bad magic"}));
  EXPECT_TRUE(HasProblem(r.report.problems, {SegPath(d, 3), "short"}));
  EXPECT_TRUE(HasProblem(r.report.problems, {SegPath(d, 4), "short"}));
  EXPECT_TRUE(HasProblem(r.report.problems, {SegPath(d, 5), "offset 16"}));
  EXPECT_EQ(r.report.problems.size(), 4u);
}

TEST(ReplayLog, LargeRecordsCrossTheReadBuffer) {
  TempDir tmp;
  // ~300 KB and ~1 MB json: the 4 MiB buffer is refilled mid-record many times.
  WriteShard(tmp.path(), 0, "big", 1, 30, 64ull << 20, 300000);
  WriteShard(tmp.path(), 1, "huge", 1, 9, 64ull << 20, kMaxJsonLen - 200);
  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0);
  EXPECT_TRUE(r.report.problems.empty());
  ASSERT_EQ(r.records.size(), 39u);
  for (uint64_t s = 1; s <= 30; ++s) EXPECT_EQ(r.records[s - 1], MakeRecord("big", s, 300000));
  for (uint64_t s = 1; s <= 9; ++s) {
    EXPECT_EQ(r.records[29 + s], MakeRecord("huge", s, kMaxJsonLen - 200));
  }
}

}  // namespace
}  // namespace roomcast::store
