// ReplayLog: the start-up read of every shard's segments. Read-only; damage is reported, never
// fatal, and never repaired here (SegmentLog::Open repairs its own newest segment).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "segment_file.h"

namespace roomcast::store {

namespace {

// The shard directories under log_dir, by shard number. 0 or -errno.
int ListShardDirs(const std::string& log_dir, std::vector<std::pair<int, std::string>>* dirs) {
  DIR* d = opendir(log_dir.c_str());
  if (d == nullptr) return -errno;
  errno = 0;
  while (dirent* e = readdir(d)) {
    int shard;
    if (!ParseShardDirName(e->d_name, &shard)) continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
      struct stat st;
      is_dir = fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) dirs->emplace_back(shard, log_dir + "/" + e->d_name);
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return -err;
  std::sort(dirs->begin(), dirs->end());
  return 0;
}

std::string At(const std::string& path, uint64_t off) {
  return path + ": offset " + std::to_string(off) + ": ";
}

// One segment file: its header, then every intact record.
void ReplaySegment(const std::string& path, bool newest, SegmentScanner* scanner,
                   const std::function<void(const Record&)>& fn,
                   const std::function<void(const LogDamage&)>& on_damage, ReplayReport* rep) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rep->problems.push_back(At(path, 0) + "cannot open: " + ErrnoText(errno) + "; skipped");
    return;
  }
  struct stat st;
  HeaderStatus hs = HeaderStatus::kOk;
  int rc = fstat(fd, &st) == 0 ? 0 : -errno;
  if (rc == 0) rc = CheckSegmentHeader(fd, &hs);
  const uint64_t size = rc == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  ++rep->segments;
  rep->bytes += size;
  if (rc != 0 || hs != HeaderStatus::kOk) {
    rep->problems.push_back(At(path, 0) +
                            (rc != 0 ? "cannot read: " + ErrnoText(rc)
                             : hs == HeaderStatus::kShort
                                 ? "short segment (" + std::to_string(size) + " bytes)"
                                 : std::string("bad magic")) +
                            "; skipped");
    rep->cut_bytes += size;
    close(fd);
    return;
  }
  auto damaged = [&](uint64_t offset, uint64_t bytes, const std::string& what) {
    ++rep->damaged;
    rep->cut_bytes += bytes;
    const uint64_t max_records = MaxRecordsIn(bytes);
    rep->problems.push_back(At(path, offset) + what + ": " + std::to_string(bytes) +
                            " bytes not replayed (up to " + std::to_string(max_records) +
                            " records lost)");
    if (on_damage) on_damage(LogDamage{path, offset, bytes, max_records});
  };
  const std::function<void(const DamagedRange&)> on_range = [&](const DamagedRange& d) {
    damaged(d.offset, d.bytes, d.reason);
  };
  const ScanResult scan = scanner->Scan(fd, kSegmentHeaderSize, &fn, &on_range);
  close(fd);
  rep->records += scan.records;
  if (scan.err != 0) {
    const uint64_t rest = size > scan.good_end ? size - scan.good_end : 0;
    damaged(scan.good_end, rest, "read error: " + ErrnoText(scan.err));
  } else if (scan.torn) {
    const uint64_t rest = size - scan.torn_at;
    if (newest) {  // a crash mid-write: never acknowledged (SegmentLog::Open cuts it)
      rep->problems.push_back(At(path, scan.torn_at) + "torn record at the end of the file (" +
                              std::to_string(rest) + " bytes); not replayed");
      rep->cut_bytes += rest;
    } else {
      damaged(scan.torn_at, rest, "torn record at the end of a closed segment");
    }
  }
}

}  // namespace

int ReplayLog(const std::string& data_dir, const std::function<void(const Record&)>& fn,
              ReplayReport* rep, std::string* error,
              const std::function<void(const LogDamage&)>& on_damage) {
  ReplayReport local_rep;
  if (rep == nullptr) rep = &local_rep;
  std::string local_error;
  if (error == nullptr) error = &local_error;
  const std::string log_dir = data_dir + "/log";
  std::vector<std::pair<int, std::string>> shard_dirs;
  if (int rc = ListShardDirs(log_dir, &shard_dirs); rc != 0) {
    if (rc == -ENOENT) return 0;
    *error = "cannot read " + log_dir + ": " + ErrnoText(rc);
    return rc;
  }
  SegmentScanner scanner;
  std::vector<uint64_t> numbers;
  for (const auto& [shard, dir] : shard_dirs) {
    if (int rc = ListSegments(dir, &numbers); rc != 0) {
      *error = "cannot read " + dir + ": " + ErrnoText(rc);
      return rc;
    }
    ++rep->shards;
    for (size_t i = 0; i < numbers.size(); ++i) {
      ReplaySegment(dir + "/" + SegmentName(numbers[i]), i + 1 == numbers.size(), &scanner, fn,
                    on_damage, rep);
    }
  }
  return 0;
}

}  // namespace roomcast::store
