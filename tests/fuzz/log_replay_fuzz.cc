// Start-up replay (ReplayLog, SegmentScanner) over segment files holding arbitrary bytes. The input
// is cut into one to three segments of shard 0, each behind a good header (or, when asked, a bad
// magic). Replay must agree with a plain reference, DecodeRecord in a loop over each file: the
// same records in the same order, a problem reported exactly for each segment that does not end
// cleanly, and cut_bytes equal to what the reference could not read.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "segment_file.h"
#include "store/segment_log.h"

using roomcast::fuzz::ByteTaker;
using roomcast::store::DecodeRecord;
using roomcast::store::DecodeStatus;
using roomcast::store::Record;

namespace {

constexpr int kMaxSegments = 3;

struct Owned {
  uint64_t seq, target;
  int64_t ts_ms;
  uint8_t flags;
  std::string room, epoch, user, cid, json;
  bool operator==(const Owned&) const = default;
};

Owned Own(const Record& r) {
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

const std::string& DataDir();

void RemoveDataDir() {
  const std::string shard_dir = DataDir() + "/log/shard-0";
  for (int i = 1; i <= kMaxSegments; ++i) {
    unlink((shard_dir + "/" + roomcast::store::SegmentName(i)).c_str());
  }
  rmdir(shard_dir.c_str());
  rmdir((DataDir() + "/log").c_str());
  rmdir(DataDir().c_str());
}

// The directory data_dir/log/shard-0, made once per process and reused by every input; removed
// at exit (so the string is never destroyed: the exit handler still needs it).
const std::string& DataDir() {
  static const std::string& dir = *new std::string([] {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/roomcast-fuzz-replay-XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
    FUZZ_CHECK(mkdir((tmpl + "/log").c_str(), 0700) == 0);
    FUZZ_CHECK(mkdir((tmpl + "/log/shard-0").c_str(), 0700) == 0);
    std::atexit(RemoveDataDir);
    return tmpl;
  }());
  return dir;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  close(fd);
}

// What a scan of one segment body must find, computed the plain way over the whole body: every
// record that decodes, a damaged range from each bad frame to the next good record (found byte by
// byte), and a torn tail when the last bad frame ran past the end with no good record after it.
struct Expected {
  size_t good_end = 0;                            // body offset just past the last good record
  std::vector<std::pair<size_t, size_t>> damage;  // (body offset, bytes)
  bool torn = false;
  size_t torn_at = 0;
  size_t NotReplayed(size_t body_size) const {
    size_t n = torn ? body_size - torn_at : 0;
    for (const auto& d : damage) n += d.second;
    return n;
  }
  size_t Problems() const { return damage.size() + (torn ? 1 : 0); }
};

Expected Reference(std::string_view body, std::vector<Owned>* out) {
  Expected e;
  size_t pos = 0, bad_start = 0;
  bool in_damage = false, maybe_torn = false;
  while (pos < body.size()) {
    const auto in = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()) + pos,
                                             body.size() - pos);
    Record r;
    size_t used = 0;
    const DecodeStatus st = DecodeRecord(in, &r, &used);
    if (st == DecodeStatus::kOk) {
      if (in_damage) e.damage.emplace_back(bad_start, pos - bad_start);
      in_damage = false;
      out->push_back(Own(r));
      pos += used;
      e.good_end = pos;
      continue;
    }
    if (!in_damage) {
      in_damage = true;
      maybe_torn = st == DecodeStatus::kNeedMore;
      bad_start = pos;
    }
    ++pos;
  }
  if (in_damage && maybe_torn) {
    e.torn = true;
    e.torn_at = bad_start;
  } else if (in_damage) {
    e.damage.emplace_back(bad_start, body.size() - bad_start);
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteTaker take(data, size);
  const uint8_t shape = take.Byte();
  const int segments = 1 + shape % kMaxSegments;
  const bool bad_magic_second = (shape & 0x80) != 0;
  std::string_view rest = take.Rest();
  const std::string shard_dir = DataDir() + "/log/shard-0/";

  std::vector<Owned> expected;
  uint64_t expected_cut = 0, expected_problems = 0, expected_bytes = 0;
  for (int i = 0; i < kMaxSegments; ++i) {
    const std::string path = shard_dir + roomcast::store::SegmentName(i + 1);
    if (i >= segments) {
      unlink(path.c_str());
      continue;
    }
    // Each segment but the last takes a length from the front of what is left.
    size_t len = rest.size();
    if (i + 1 < segments && rest.size() >= 2) {
      len = (static_cast<uint8_t>(rest[0]) | (static_cast<uint8_t>(rest[1]) << 8)) %
            (rest.size() - 1);
      rest.remove_prefix(2);
    }
    const std::string_view body = rest.substr(0, len);
    rest.remove_prefix(body.size());
    std::string file;
    roomcast::store::AppendSegmentHeader(1700000000000, &file);
    const bool bad = bad_magic_second && i == 1;
    if (bad) file[0] = 'X';
    file.append(body);
    WriteFile(path, file);
    expected_bytes += file.size();
    if (bad) {
      expected_cut += file.size();
      ++expected_problems;
      continue;
    }
    const Expected want = Reference(body, &expected);
    expected_cut += want.NotReplayed(body.size());
    expected_problems += want.Problems();

    // The scanner alone, from just after the header, over a file that may be bigger than its
    // buffer (the smallest buffer it allows), so that it compacts and reads again.
    static roomcast::store::SegmentScanner scanner(0);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    const roomcast::store::ScanResult scan =
        scanner.Scan(fd, roomcast::store::kSegmentHeaderSize, nullptr);
    close(fd);
    constexpr size_t kHead = roomcast::store::kSegmentHeaderSize;
    FUZZ_CHECK(scan.err == 0);
    FUZZ_CHECK(scan.good_end == kHead + want.good_end);
    FUZZ_CHECK(scan.torn == want.torn);
    FUZZ_CHECK(!scan.torn || scan.torn_at == kHead + want.torn_at);
    FUZZ_CHECK(scan.damage.size() == want.damage.size());
    for (size_t d = 0; d < want.damage.size(); ++d) {
      FUZZ_CHECK(scan.damage[d].offset == kHead + want.damage[d].first);
      FUZZ_CHECK(scan.damage[d].bytes == want.damage[d].second);
    }
  }

  // ReplayLog makes a fresh 4 MiB scanner per call, whose page faults cost ~20 ms here: only
  // inputs whose shape byte asks for it (one in eight) run the whole replay.
  if ((shape & 0x38) != 0) return 0;
  std::vector<Owned> got;
  roomcast::store::ReplayReport rep;
  std::string error;
  const int rc = roomcast::store::ReplayLog(
      DataDir(), [&](const Record& r) { got.push_back(Own(r)); }, &rep, &error);
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(got == expected);
  FUZZ_CHECK(rep.records == expected.size());
  FUZZ_CHECK(rep.shards == 1 && rep.segments == static_cast<uint64_t>(segments));
  FUZZ_CHECK(rep.bytes == expected_bytes);
  FUZZ_CHECK(rep.cut_bytes == expected_cut);
  FUZZ_CHECK(rep.problems.size() == expected_problems);
  return 0;
}
