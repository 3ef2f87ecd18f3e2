// Helpers shared by the store tests: a temp directory per test, owned records, batch writes and a
// full replay.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "store/segment_log.h"

namespace roomcast::store::testing {

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/roomcast-store-test-XXXXXX";
    const char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string ShardDir(int shard) const { return path_ + "/log/shard-" + std::to_string(shard); }

 private:
  std::string path_;
};

// A Record with its own storage.
struct OwnedRecord {
  uint64_t seq = 0, target = 0;
  int64_t ts_ms = 0;
  uint8_t flags = 0;
  std::string room, epoch, user, cid, json;

  Record View() const { return {seq, target, ts_ms, flags, room, epoch, user, cid, json}; }
  static OwnedRecord From(const Record& r) {
    return {r.seq,
            r.target,
            r.ts_ms,
            r.flags,
            std::string(r.room),
            std::string(r.epoch),
            std::string(r.user),
            std::string(r.cid),
            std::string(r.json)};
  }
  bool operator==(const OwnedRecord&) const = default;
};

inline OwnedRecord MakeRecord(const std::string& room, uint64_t seq, size_t text_len = 20) {
  OwnedRecord r;
  r.seq = seq;
  r.ts_ms = 1763800000000 + static_cast<int64_t>(seq);
  r.room = room;
  r.epoch = "e0000001";
  r.user = "u" + std::to_string(seq % 7);
  r.cid = "c-" + std::to_string(seq);
  r.json = R"({"type":"msg","room":")" + room + R"(","seq":)" + std::to_string(seq) +
           R"(,"text":")" + std::string(text_len, 'x') + R"("})";
  return r;
}

inline constexpr uint64_t kNow = 1763800000000;

// Takes one batch and writes all of it with pwrite, as the shard would with io_uring.
inline void WriteOneBatch(SegmentLog* log, uint64_t now_ms = kNow) {
  SegmentLog::Batch b = log->Take();
  ASSERT_GE(b.fd, 0);
  ASSERT_EQ(pwrite(b.fd, b.bytes.data(), b.bytes.size(), static_cast<off_t>(b.offset)),
            static_cast<ssize_t>(b.bytes.size()));
  log->Committed(now_ms);
}

// A damaged range as replay reported it, with how many records came before it.
struct SeenDamage {
  size_t after_records = 0;
  std::string file;
  uint64_t offset = 0, bytes = 0, max_records = 0;
};

struct Replayed {
  int rc = 0;
  std::vector<OwnedRecord> records;
  std::vector<SeenDamage> damage;
  ReplayReport report;
  std::string error;
};

inline Replayed ReplayAll(const std::string& data_dir) {
  Replayed out;
  out.rc = ReplayLog(
      data_dir, [&](const Record& r) { out.records.push_back(OwnedRecord::From(r)); }, &out.report,
      &out.error,
      [&](const LogDamage& d) {
        out.damage.push_back(
            {out.records.size(), std::string(d.file), d.offset, d.bytes, d.max_records});
      });
  return out;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string SegPath(const std::string& shard_dir, uint64_t n) {
  char name[32];
  std::snprintf(name, sizeof(name), "/%020llu.seg", static_cast<unsigned long long>(n));
  return shard_dir + name;
}

// The file offsets where a clean segment's records start.
inline std::vector<size_t> RecordOffsets(const std::string& seg) {
  std::vector<size_t> at;
  size_t off = kSegmentHeaderSize;
  while (off < seg.size()) {
    Record r;
    size_t used = 0;
    const auto* p = reinterpret_cast<const uint8_t*>(seg.data()) + off;
    if (DecodeRecord({p, seg.size() - off}, &r, &used) != DecodeStatus::kOk) break;
    at.push_back(off);
    off += used;
  }
  return at;
}

// Whether any problem line contains all the given words.
inline bool HasProblem(const std::vector<std::string>& problems,
                       std::initializer_list<std::string> words) {
  for (const std::string& p : problems) {
    bool all = true;
    for (const std::string& w : words) all = all && p.find(w) != std::string::npos;
    if (all) return true;
  }
  return false;
}

}  // namespace roomcast::store::testing
