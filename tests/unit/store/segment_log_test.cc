#include "store/segment_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "store_test_util.h"

namespace roomcast::store {
namespace {

using namespace testing;  // NOLINT: the helpers of this test folder

LogOptions Options(const TempDir& tmp, int shard = 0) {
  LogOptions o;
  o.data_dir = tmp.path();
  o.shard = shard;
  o.fsync = FsyncPolicy::kNever;  // the tests check contents, not crash durability
  return o;
}

size_t SegmentFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    n += e.path().extension() == ".seg" ? 1 : 0;
  }
  return n;
}

// Appends seqs [from, to] of room "r" to log, one batch per `per_batch` records.
void AppendRange(SegmentLog* log, uint64_t from, uint64_t to, uint64_t per_batch,
                 uint64_t now_ms = kNow) {
  for (uint64_t s = from; s <= to; ++s) {
    log->Append(MakeRecord("r", s).View());
    if ((s - from + 1) % per_batch == 0 || s == to) WriteOneBatch(log, now_ms);
  }
}

void ExpectSeqs(const std::vector<OwnedRecord>& got, uint64_t from, uint64_t to) {
  ASSERT_EQ(got.size(), to - from + 1);
  for (uint64_t s = from; s <= to; ++s) EXPECT_EQ(got[s - from], MakeRecord("r", s)) << s;
}

TEST(SegmentLog, OpenCreatesPrivateDirsAndTheFirstSegment) {
  TempDir tmp;
  LogOptions o = Options(tmp, 3);
  o.data_dir = tmp.path() + "/data";
  SegmentLog log;
  RecoveryReport rep;
  std::string error;
  ASSERT_EQ(log.Open(o, &rep, &error), 0) << error;
  struct stat st;
  ASSERT_EQ(stat((o.data_dir + "/log/shard-3").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::string seg = ReadFile(o.data_dir + "/log/shard-3/00000000000000000001.seg");
  ASSERT_EQ(seg.size(), kSegmentHeaderSize);
  EXPECT_EQ(seg.substr(0, 8), std::string("RCLOG\0\1\0", 8));
  EXPECT_TRUE(rep.problems.empty());
  EXPECT_EQ(rep.segments, 1u);
  EXPECT_EQ(log.SegmentCount(), 1u);
  EXPECT_EQ(log.TotalBytes(), kSegmentHeaderSize);
  EXPECT_GE(log.ActiveFd(), 0);
  EXPECT_FALSE(log.HasPending());
}

TEST(SegmentLog, OpenFailsCleanlyOnBadOptionsOrAFileInTheWay) {
  TempDir tmp;
  SegmentLog a;
  std::string error;
  LogOptions o = Options(tmp);
  o.shard = -1;
  EXPECT_EQ(a.Open(o, nullptr, &error), -EINVAL);
  WriteFile(tmp.path() + "/file", "x");
  o = Options(tmp);
  o.data_dir = tmp.path() + "/file";
  SegmentLog b;
  EXPECT_LT(b.Open(o, nullptr, &error), 0);
  EXPECT_FALSE(error.empty());
}

TEST(SegmentLog, BatchesAreWrittenAndReplayedInOrder) {
  TempDir tmp;
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(Options(tmp), nullptr, &error), 0) << error;
  uint64_t seq = 0;
  for (int batch = 0; batch < 5; ++batch) {
    for (int i = 0; i < 7; ++i) log.Append(MakeRecord("r", ++seq).View());
    EXPECT_TRUE(log.HasPending());
    const size_t pending = log.PendingBytes();
    SegmentLog::Batch b = log.Take();
    ASSERT_GE(b.fd, 0);
    EXPECT_EQ(b.bytes.size(), pending);
    EXPECT_EQ(b.offset, log.TotalBytes());
    EXPECT_FALSE(log.HasPending());
    // One batch in flight at a time, even with more appended meanwhile.
    log.Append(MakeRecord("r", ++seq).View());
    EXPECT_EQ(log.Take().fd, -1);
    ASSERT_EQ(pwrite(b.fd, b.bytes.data(), b.bytes.size(), static_cast<off_t>(b.offset)),
              static_cast<ssize_t>(b.bytes.size()));
    log.Committed(kNow);
    EXPECT_EQ(log.TotalBytes(), b.offset + b.bytes.size());
    WriteOneBatch(&log);
  }
  EXPECT_EQ(log.Take().fd, -1);  // nothing pending
  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0) << r.error;
  ExpectSeqs(r.records, 1, seq);
  EXPECT_TRUE(r.report.problems.empty());
  EXPECT_EQ(r.report.shards, 1u);
  EXPECT_EQ(r.report.segments, 1u);
  EXPECT_EQ(r.report.records, seq);
  EXPECT_EQ(r.report.bytes, log.TotalBytes());
}

TEST(SegmentLog, ReopenAppendsToTheNewestSegment) {
  TempDir tmp;
  std::string error;
  {
    SegmentLog log;
    ASSERT_EQ(log.Open(Options(tmp), nullptr, &error), 0) << error;
    AppendRange(&log, 1, 10, 4);
  }
  SegmentLog log;
  RecoveryReport rep;
  ASSERT_EQ(log.Open(Options(tmp), &rep, &error), 0) << error;
  EXPECT_EQ(rep.records, 10u);
  EXPECT_EQ(rep.cut_bytes, 0u);
  EXPECT_TRUE(rep.problems.empty());
  AppendRange(&log, 11, 20, 3);
  EXPECT_EQ(SegmentFiles(tmp.ShardDir(0)), 1u);
  Replayed r = ReplayAll(tmp.path());
  ExpectSeqs(r.records, 1, 20);
}

TEST(SegmentLog, RollsIntoNumberedSegmentsAndReplaysAllInOrder) {
  TempDir tmp;
  LogOptions o = Options(tmp);
  o.segment_bytes = 1000;
  o.fsync = FsyncPolicy::kInterval;  // the roll's fdatasync path too
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
  AppendRange(&log, 1, 200, 3);
  EXPECT_GT(log.SegmentCount(), 10u);
  EXPECT_EQ(SegmentFiles(tmp.ShardDir(0)), log.SegmentCount());
  uint64_t total = 0;
  for (uint64_t n = 1; n <= log.SegmentCount(); ++n) {
    const std::string seg = ReadFile(SegPath(tmp.ShardDir(0), n));
    EXPECT_EQ(seg.substr(0, 8), std::string("RCLOG\0\1\0", 8)) << n;
    // Batches of 3 records (~300 bytes) never push a segment past 1000 bytes.
    EXPECT_LE(seg.size(), 1000u) << n;
    total += seg.size();
  }
  EXPECT_EQ(total, log.TotalBytes());
  Replayed r = ReplayAll(tmp.path());
  ASSERT_EQ(r.rc, 0);
  ExpectSeqs(r.records, 1, 200);
  EXPECT_EQ(r.report.segments, log.SegmentCount());
  EXPECT_TRUE(r.report.problems.empty());
}

TEST(SegmentLog, ABatchLargerThanASegmentStaysWhole) {
  TempDir tmp;
  LogOptions o = Options(tmp);
  o.segment_bytes = 200;
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
  AppendRange(&log, 1, 10, 10);   // one ~1 KB batch into the fresh segment 1
  AppendRange(&log, 11, 20, 10);  // rolls once
  EXPECT_EQ(log.SegmentCount(), 2u);
  ExpectSeqs(ReplayAll(tmp.path()).records, 1, 20);
}

TEST(SegmentLog, RetentionByBytesDeletesOldestClosedSegmentsOnly) {
  TempDir tmp;
  LogOptions o = Options(tmp);
  o.segment_bytes = 1000;
  o.retain_bytes = 3000;
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
  uint64_t now = kNow;
  for (uint64_t s = 1; s <= 200; ++s) {
    log.Append(MakeRecord("r", s).View());
    if (s % 3 == 0) WriteOneBatch(&log, now += 1000);
  }
  WriteOneBatch(&log, now += 1000);
  EXPECT_LE(log.TotalBytes(), 3000u);
  EXPECT_GE(log.TotalBytes(), 2000u);  // no more than needed went
  EXPECT_EQ(SegmentFiles(tmp.ShardDir(0)), log.SegmentCount());
  EXPECT_FALSE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 1)));
  Replayed r = ReplayAll(tmp.path());
  ASSERT_FALSE(r.records.empty());
  EXPECT_EQ(r.records.back().seq, 200u);  // the newest records are all there, in order
  ExpectSeqs(r.records, r.records.front().seq, 200);
}

TEST(SegmentLog, RetentionNeverDeletesTheActiveSegment) {
  TempDir tmp;
  LogOptions o = Options(tmp);
  o.retain_bytes = 100;  // smaller than one segment
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
  AppendRange(&log, 1, 20, 5);
  EXPECT_EQ(log.SegmentCount(), 1u);
  ExpectSeqs(ReplayAll(tmp.path()).records, 1, 20);
}

TEST(SegmentLog, RetentionByAgeUsesMtimeAndRunsAtMostOncePerSecond) {
  TempDir tmp;
  LogOptions o = Options(tmp);
  o.segment_bytes = 1000;
  o.retain_secs = 3600;
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
  const uint64_t now =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  AppendRange(&log, 1, 60, 3, now);  // retention runs at the first commit: nothing old yet
  const uint64_t segs = log.SegmentCount();
  ASSERT_GE(segs, 4u);
  // Segments 1 and 2 were last written two hours ago.
  for (uint64_t n = 1; n <= 2; ++n) {
    timespec times[2] = {{static_cast<time_t>(now / 1000 - 7200), 0},
                         {static_cast<time_t>(now / 1000 - 7200), 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, SegPath(tmp.ShardDir(0), n).c_str(), times, 0), 0);
  }
  AppendRange(&log, 61, 61, 1, now + 500);  // within the second: no pass
  EXPECT_TRUE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 1)));
  AppendRange(&log, 62, 62, 1, now + 1000);
  EXPECT_FALSE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 1)));
  EXPECT_FALSE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 2)));
  EXPECT_TRUE(std::filesystem::exists(SegPath(tmp.ShardDir(0), 3)));
  EXPECT_EQ(log.SegmentCount(), segs - 2);
  Replayed r = ReplayAll(tmp.path());
  ASSERT_FALSE(r.records.empty());
  ExpectSeqs(r.records, r.records.front().seq, 62);
  EXPECT_GT(r.records.front().seq, 1u);
}

TEST(SegmentLog, FailedWriteBreaksTheLog) {
  TempDir tmp;
  SegmentLog log;
  std::string error;
  ASSERT_EQ(log.Open(Options(tmp), nullptr, &error), 0) << error;
  log.Append(MakeRecord("r", 1).View());
  SegmentLog::Batch b = log.Take();
  ASSERT_GE(b.fd, 0);
  log.Failed(-ENOSPC);
  EXPECT_TRUE(log.Broken());
  EXPECT_NE(log.LastError().find(strerror(ENOSPC)), std::string::npos) << log.LastError();
  EXPECT_NE(log.LastError().find("00000000000000000001.seg"), std::string::npos);
  log.Append(MakeRecord("r", 2).View());
  EXPECT_FALSE(log.HasPending());  // dropped: a dead disk must not grow memory
  EXPECT_EQ(log.Take().fd, -1);
  EXPECT_LT(log.FlushSync(&error), 0);
  EXPECT_FALSE(error.empty());
}

TEST(SegmentLog, FlushSyncWritesEverythingPending) {
  TempDir tmp;
  LogOptions o = Options(tmp);
  o.fsync = FsyncPolicy::kBatch;
  o.segment_bytes = 2000;
  std::string error;
  {
    SegmentLog log;
    ASSERT_EQ(log.Open(o, nullptr, &error), 0) << error;
    for (uint64_t s = 1; s <= 30; ++s) {
      log.Append(MakeRecord("r", s).View());
      if (s % 10 == 0) {
        ASSERT_EQ(log.FlushSync(&error), 0) << error;
      }
    }
    log.Append(MakeRecord("r", 31).View());
    ASSERT_EQ(log.FlushSync(&error), 0) << error;
    ASSERT_EQ(log.FlushSync(&error), 0) << error;  // nothing pending: fine
    log.Append(MakeRecord("r", 32).View());
    SegmentLog::Batch b = log.Take();
    EXPECT_EQ(log.FlushSync(&error), -EBUSY);
    log.Append(MakeRecord("r", 99).View());  // never written: no implicit flush
    (void)b;
  }
  ExpectSeqs(ReplayAll(tmp.path()).records, 1, 31);
}

}  // namespace
}  // namespace roomcast::store
