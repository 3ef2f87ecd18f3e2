// SegmentLog::Open on damaged files: a torn tail cut, corruption kept (appending moves to a new
// segment), short newest segments replaced, foreign files left alone, the log usable afterwards.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store/segment_log.h"
#include "store_test_util.h"

namespace roomcast::store {
namespace {

using namespace testing;  // NOLINT: the helpers of this test folder

LogOptions Options(const std::string& data_dir, uint64_t segment_bytes = 64ull << 20) {
  LogOptions o;
  o.data_dir = data_dir;
  o.segment_bytes = segment_bytes;
  o.fsync = FsyncPolicy::kNever;
  return o;
}

// Writes seqs [from, to] of room "r" through a fresh SegmentLog, one batch each `per_batch`.
void WriteLog(const std::string& data_dir, uint64_t from, uint64_t to,
              uint64_t segment_bytes = 64ull << 20, uint64_t per_batch = 1) {
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(Options(data_dir, segment_bytes), nullptr, &error), 0) << error;
  for (uint64_t s = from; s <= to; ++s) {
    log.Append(MakeRecord("r", s).View());
    if ((s - from + 1) % per_batch == 0 || s == to) WriteOneBatch(&log);
  }
}

void ExpectSeqs(const std::vector<OwnedRecord>& got, std::vector<uint64_t> want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], MakeRecord("r", want[i])) << i;
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t s = from; s <= to; ++s) v.push_back(s);
  return v;
}

// File offset where record `seq` (1-based, all in segment 1) starts.
uint64_t RecordStart(uint64_t seq) {
  uint64_t off = kSegmentHeaderSize;
  for (uint64_t s = 1; s < seq; ++s) off += EncodedSize(MakeRecord("r", s).View());
  return off;
}

TEST(LogRecovery, TornTailIsCutAtEveryOffsetOfTheLastRecord) {
  constexpr uint64_t kN = 12;
  TempDir master;
  WriteLog(master.path(), 1, kN);
  const std::string seg = ReadFile(SegPath(master.ShardDir(0), 1));
  const uint64_t start = RecordStart(kN);
  ASSERT_EQ(seg.size(), RecordStart(kN + 1));
  for (uint64_t off = start; off < seg.size(); ++off) {
    SCOPED_TRACE("truncated at " + std::to_string(off));
    TempDir tmp;
    std::filesystem::create_directories(tmp.ShardDir(0));
    const std::string path = SegPath(tmp.ShardDir(0), 1);
    WriteFile(path, seg.substr(0, off));

    // The reader alone (nothing repaired yet) already stops at record N-1.
    Replayed before = ReplayAll(tmp.path());
    ASSERT_EQ(before.rc, 0);
    ExpectSeqs(before.records, Range(1, kN - 1));
    EXPECT_EQ(before.report.problems.size(), off > start ? 1u : 0u);
    EXPECT_EQ(std::filesystem::file_size(path), off);  // the reader modifies nothing

    SegmentLog log;
    RecoveryReport rep;
    std::string error;
    ASSERT_EQ(log.Open(Options(tmp.path()), &rep, &error), 0) << error;
    EXPECT_EQ(std::filesystem::file_size(path), start);
    EXPECT_EQ(rep.records, kN - 1);
    EXPECT_EQ(rep.cut_bytes, off - start);
    EXPECT_EQ(rep.bytes, start);
    if (off > start) {
      ASSERT_EQ(rep.problems.size(), 1u);
      EXPECT_TRUE(HasProblem(rep.problems, {path, "offset " + std::to_string(start), "torn"}))
          << rep.problems[0];
    } else {
      EXPECT_TRUE(rep.problems.empty());
    }
    Replayed after = ReplayAll(tmp.path());
    ExpectSeqs(after.records, Range(1, kN - 1));
    EXPECT_TRUE(after.report.problems.empty());

    log.Append(MakeRecord("r", kN).View());
    log.Append(MakeRecord("r", kN + 1).View());
    WriteOneBatch(&log);
    Replayed appended = ReplayAll(tmp.path());
    ExpectSeqs(appended.records, Range(1, kN + 1));
    EXPECT_TRUE(appended.report.problems.empty());
  }
}

TEST(LogRecovery, CorruptRecordInTheNewestSegmentIsKeptAndTheRecordsAfterItToo) {
  TempDir tmp, copy;
  WriteLog(tmp.path(), 1, 9, 64ull << 20, 3);
  const std::string path = SegPath(tmp.ShardDir(0), 1);
  std::string seg = ReadFile(path);
  const uint64_t start5 = RecordStart(5);
  const uint64_t end5 = RecordStart(6);
  const uint64_t flip_at = (start5 + end5) / 2;  // inside record 5's payload
  seg[flip_at] = static_cast<char>(seg[flip_at] ^ 0x20);
  WriteFile(path, seg);
  std::filesystem::create_directories(copy.ShardDir(0));
  const std::string copy_path = SegPath(copy.ShardDir(0), 1);
  WriteFile(copy_path, seg);

  // Unrepaired: the reader reports the damage and reads on after it.
  Replayed r = ReplayAll(copy.path());
  ASSERT_EQ(r.rc, 0);
  ExpectSeqs(r.records, {1, 2, 3, 4, 6, 7, 8, 9});
  ASSERT_EQ(r.report.problems.size(), 1u);
  EXPECT_TRUE(HasProblem(r.report.problems,
                         {copy_path, "offset " + std::to_string(start5), "crc mismatch"}))
      << r.report.problems[0];
  EXPECT_EQ(r.report.cut_bytes, end5 - start5);
  ASSERT_EQ(r.damage.size(), 1u);
  EXPECT_EQ(r.damage[0].after_records, 4u);
  EXPECT_EQ(ReadFile(copy_path), seg);

  // Open keeps every byte (the damage is evidence for every later replay) and appends to the
  // next segment.
  SegmentLog log;
  RecoveryReport rep;
  std::string error;
  ASSERT_EQ(log.Open(Options(tmp.path()), &rep, &error), 0) << error;
  EXPECT_TRUE(HasProblem(rep.problems, {path, "offset " + std::to_string(start5), "crc mismatch"}));
  EXPECT_TRUE(HasProblem(rep.problems, {path, "next segment"}));
  EXPECT_EQ(rep.cut_bytes, 0u);
  EXPECT_EQ(rep.damaged_bytes, end5 - start5);
  EXPECT_EQ(ReadFile(path), seg);
  EXPECT_EQ(log.SegmentCount(), 2u);
  log.Append(MakeRecord("r", 10).View());
  WriteOneBatch(&log);
  EXPECT_TRUE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 2)));
  Replayed after = ReplayAll(tmp.path());
  ExpectSeqs(after.records, {1, 2, 3, 4, 6, 7, 8, 9, 10});
  ASSERT_EQ(after.damage.size(), 1u);
  EXPECT_EQ(after.damage[0].after_records, 4u);
}

TEST(LogRecovery, CorruptionAtTheEndIsNotATornTail) {
  // The last record complete but with a wrong crc (e.g. zeros after a power loss): it may have
  // been acknowledged, so it is damage, kept and reported, not a torn tail to cut.
  TempDir tmp;
  WriteLog(tmp.path(), 1, 5);
  const std::string path = SegPath(tmp.ShardDir(0), 1);
  std::string seg = ReadFile(path);
  const uint64_t start5 = RecordStart(5);
  std::fill(seg.begin() + static_cast<std::ptrdiff_t>(start5 + 8), seg.end(), '\0');
  WriteFile(path, seg);
  SegmentLog log;
  RecoveryReport rep;
  std::string error;
  ASSERT_EQ(log.Open(Options(tmp.path()), &rep, &error), 0) << error;
  EXPECT_EQ(rep.cut_bytes, 0u);
  EXPECT_EQ(rep.damaged_bytes, seg.size() - start5);
  EXPECT_EQ(ReadFile(path), seg);
  Replayed r = ReplayAll(tmp.path());
  ExpectSeqs(r.records, Range(1, 4));
  ASSERT_EQ(r.damage.size(), 1u);
  EXPECT_EQ(r.damage[0].offset, start5);
}

TEST(LogRecovery, ShortOrEmptyNewestSegmentIsReplaced) {
  for (const std::string& stub : {std::string(), std::string("RCLOG"), std::string(15, 'z')}) {
    SCOPED_TRACE("stub of " + std::to_string(stub.size()) + " bytes");
    TempDir tmp;
    WriteLog(tmp.path(), 1, 30, 1000, 3);
    const uint64_t segs = std::distance(std::filesystem::directory_iterator(tmp.ShardDir(0)),
                                        std::filesystem::directory_iterator());
    const std::string stub_path = SegPath(tmp.ShardDir(0), segs + 1);
    WriteFile(stub_path, stub);
    SegmentLog log;
    RecoveryReport rep;
    std::string error;
    ASSERT_EQ(log.Open(Options(tmp.path(), 1000), &rep, &error), 0) << error;
    EXPECT_TRUE(HasProblem(rep.problems, {stub_path, "short", "replaced"}));
    EXPECT_EQ(rep.cut_bytes, stub.size());
    EXPECT_EQ(std::filesystem::file_size(stub_path), kSegmentHeaderSize);
    EXPECT_EQ(log.SegmentCount(), segs + 1);
    log.Append(MakeRecord("r", 31).View());
    WriteOneBatch(&log);
    Replayed r = ReplayAll(tmp.path());
    ExpectSeqs(r.records, Range(1, 31));
    EXPECT_TRUE(r.report.problems.empty());
  }
}

TEST(LogRecovery, ForeignFilesWithTheSegNameAreReportedAndLeftAlone) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.ShardDir(0));
  std::mt19937 rng(7);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  const std::string old_bad = SegPath(tmp.ShardDir(0), 1);
  WriteFile(old_bad, garbage);
  WriteFile(SegPath(tmp.ShardDir(0), 2), "");  // 0 bytes: a roll that never wrote (older)
  WriteFile(SegPath(tmp.ShardDir(0), 3), std::string("RCLOG\0\1\0", 8) + std::string(8, '\0'));
  const std::string new_bad = SegPath(tmp.ShardDir(0), 4);
  WriteFile(new_bad, garbage);

  LogOptions o = Options(tmp.path());
  o.retain_bytes = 1;  // retention must not touch foreign files either
  SegmentLog log;
  RecoveryReport rep;
  std::string error;
  ASSERT_EQ(log.Open(o, &rep, &error), 0) << error;
  EXPECT_TRUE(HasProblem(rep.problems, {old_bad, "bad magic", "left in place"}));
  EXPECT_TRUE(HasProblem(rep.problems, {SegPath(tmp.ShardDir(0), 2), "short"}));
  EXPECT_TRUE(HasProblem(rep.problems, {new_bad, "bad magic", "left in place"}));
  EXPECT_EQ(rep.problems.size(), 3u);
  // Segment 3 (good, empty) is closed; a new segment 5 is active.
  EXPECT_EQ(log.SegmentCount(), 2u);
  log.Append(MakeRecord("r", 1).View());
  WriteOneBatch(&log);
  EXPECT_EQ(ReadFile(old_bad), garbage);
  EXPECT_EQ(ReadFile(new_bad), garbage);
  EXPECT_FALSE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 3)));  // retention: closed, ours
  EXPECT_TRUE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 5)));

  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0);
  ExpectSeqs(r.records, {1});
  EXPECT_TRUE(HasProblem(r.report.problems, {old_bad, "bad magic"}));
  EXPECT_TRUE(HasProblem(r.report.problems, {new_bad, "bad magic"}));
  EXPECT_TRUE(HasProblem(r.report.problems, {SegPath(tmp.ShardDir(0), 2), "short"}));
}

TEST(LogRecovery, GoodHeaderWithGarbageBodyIsKeptAsDamage) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.ShardDir(0));
  const std::string path = SegPath(tmp.ShardDir(0), 1);
  const std::string bytes =
      std::string("RCLOG\0\1\0", 8) + std::string(8, '\0') + std::string(500, '\x7f');
  WriteFile(path, bytes);
  SegmentLog log;
  RecoveryReport rep;
  std::string error;
  ASSERT_EQ(log.Open(Options(tmp.path()), &rep, &error), 0) << error;
  EXPECT_TRUE(HasProblem(rep.problems, {path, "offset 16", "bad payload length"}));
  EXPECT_EQ(rep.cut_bytes, 0u);
  EXPECT_EQ(rep.damaged_bytes, 500u);
  EXPECT_EQ(ReadFile(path), bytes);
  log.Append(MakeRecord("r", 1).View());
  WriteOneBatch(&log);
  Replayed r = ReplayAll(tmp.path());
  ExpectSeqs(r.records, {1});
  ASSERT_EQ(r.damage.size(), 1u);
  EXPECT_EQ(r.damage[0].after_records, 0u);
  EXPECT_EQ(r.damage[0].bytes, 500u);
  EXPECT_EQ(r.damage[0].max_records, MaxRecordsIn(500));
}

}  // namespace
}  // namespace roomcast::store
