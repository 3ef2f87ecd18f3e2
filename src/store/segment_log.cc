// SegmentLog: one shard's writer. Recovery at Open, batches handed to the caller, rolls and
// retention. The only system calls are in Open, Roll (from Take), retention (from Committed) and
// FlushSync; Append and the batch bookkeeping touch memory only.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "segment_file.h"

namespace roomcast::store {

namespace {

// mkdir -p with mode 0700 for the directories it creates.
int MakeDirs(const std::string& path, std::string* error) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0700) == 0 || errno == EEXIST) continue;
    const int err = -errno;
    *error = "cannot create " + part + ": " + ErrnoText(err);
    return err;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = path + " is not a directory";
    return -ENOTDIR;
  }
  return 0;
}

std::string Offset(uint64_t off) { return ": offset " + std::to_string(off) + ": "; }

// Reads the size and header status of segment `name` (in dir_fd, `path` for messages). Only
// fstat and a header read: recovery decides from these whether the file is ours and how to treat
// it. Returns 0, or -errno with *error set.
int ReadSegmentHeader(int dir_fd, const std::string& name, const std::string& path, uint64_t* size,
                      HeaderStatus* hs, std::string* error) {
  const int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = -errno;
    *error = "cannot open " + path + ": " + ErrnoText(err);
    return err;
  }
  struct stat st;
  int rc = fstat(fd, &st) == 0 ? 0 : -errno;
  if (rc == 0) rc = CheckSegmentHeader(fd, hs);
  close(fd);
  if (rc != 0) {
    *error = "cannot read " + path + ": " + ErrnoText(rc);
    return rc;
  }
  *size = static_cast<uint64_t>(st.st_size);
  return 0;
}

}  // namespace

SegmentLog::~SegmentLog() {
  if (fd_ >= 0) close(fd_);
  if (dir_fd_ >= 0) close(dir_fd_);
}

std::string SegmentLog::SegmentPath(uint64_t number) const {
  return dir_ + "/" + SegmentName(number);
}

int SegmentLog::Open(const LogOptions& o, RecoveryReport* rep, std::string* error) {
  RecoveryReport local_rep;
  if (rep == nullptr) rep = &local_rep;
  std::string local_error;
  if (error == nullptr) error = &local_error;
  if (fd_ >= 0 || dir_fd_ >= 0) {
    *error = "SegmentLog::Open called twice";
    return -EINVAL;
  }
  if (o.data_dir.empty() || o.shard < 0 || o.segment_bytes <= kSegmentHeaderSize) {
    *error = "bad log options (empty data_dir, negative shard or segment_bytes <= 16)";
    return -EINVAL;
  }
  opt_ = o;
  dir_ = o.data_dir + "/log/shard-" + std::to_string(o.shard);
  if (int rc = MakeDirs(dir_, error); rc != 0) return rc;
  dir_fd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    const int err = -errno;
    *error = "cannot open " + dir_ + ": " + ErrnoText(err);
    return err;
  }
  std::vector<uint64_t> numbers;
  if (int rc = ListSegments(dir_, &numbers); rc != 0) {
    *error = "cannot list " + dir_ + ": " + ErrnoText(rc);
    return rc;
  }
  // Oldest first, so that closed_ ends up oldest first and only the last one is the newest.
  for (size_t i = 0; i < numbers.size(); ++i) {
    const bool newest = i + 1 == numbers.size();
    if (int rc = RecoverSegment(numbers[i], newest, rep, error); rc != 0) return rc;
  }
  if (fd_ < 0) {
    // An empty directory, or a newest file that is not ours: start the next number.
    const uint64_t next = numbers.empty() ? 1 : numbers.back() + 1;
    if (int rc = CreateSegment(next, /*write_header=*/true, /*replace=*/false, error); rc != 0) {
      return rc;
    }
  }
  rep->segments = SegmentCount();
  rep->bytes = total_bytes_;
  return 0;
}

int SegmentLog::RecoverSegment(uint64_t number, bool newest, RecoveryReport* rep,
                               std::string* error) {
  const std::string path = SegmentPath(number);
  uint64_t size = 0;
  HeaderStatus hs = HeaderStatus::kOk;
  if (int rc = ReadSegmentHeader(dir_fd_, SegmentName(number), path, &size, &hs, error); rc != 0) {
    return rc;
  }
  if (hs == HeaderStatus::kShort && newest) {
    // A crash between creating the file and writing its header: nothing in it was acknowledged.
    rep->problems.push_back(path + Offset(0) + "short segment (" + std::to_string(size) +
                            " bytes, no full header); replaced");
    rep->cut_bytes += size;
    return CreateSegment(number, /*write_header=*/true, /*replace=*/true, error);
  }
  if (hs != HeaderStatus::kOk) {
    // Not provably ours: never deleted, counted or appended to.
    rep->problems.push_back(path + Offset(0) +
                            (hs == HeaderStatus::kShort ? "short segment (" : "bad magic (") +
                            std::to_string(size) + " bytes); skipped, left in place");
    return 0;
  }
  if (newest) return RecoverNewest(number, size, rep, error);
  closed_.push_back({number, size});
  total_bytes_ += size;
  return 0;
}

int SegmentLog::RecoverNewest(uint64_t number, uint64_t size, RecoveryReport* rep,
                              std::string* error) {
  const std::string path = SegmentPath(number);
  const int rfd = openat(dir_fd_, SegmentName(number).c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) {
    const int err = -errno;
    *error = "cannot open " + path + ": " + ErrnoText(err);
    return err;
  }
  SegmentScanner scanner;
  const ScanResult scan = scanner.Scan(rfd, kSegmentHeaderSize, nullptr);
  close(rfd);
  if (scan.err != 0) {
    *error = "cannot read " + path + " after offset " + std::to_string(scan.good_end) + ": " +
             ErrnoText(scan.err);
    return scan.err;
  }
  rep->records += scan.records;
  for (const DamagedRange& d : scan.damage) {
    rep->problems.push_back(path + Offset(d.offset) + d.reason + ": " + std::to_string(d.bytes) +
                            " damaged bytes (up to " + std::to_string(MaxRecordsIn(d.bytes)) +
                            " records lost); every intact record around them is kept");
    rep->damaged_bytes += d.bytes;
  }
  fd_ = openat(dir_fd_, SegmentName(number).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = -errno;
    *error = "cannot open " + path + " for writing: " + ErrnoText(err);
    return err;
  }
  active_number_ = number;
  active_size_ = size;
  if (scan.torn) {
    // Only the last, partial record, which was never acknowledged: cut it.
    const uint64_t cut = size - scan.torn_at;
    if (ftruncate(fd_, static_cast<off_t>(scan.torn_at)) != 0 ||
        (opt_.fsync != FsyncPolicy::kNever && fdatasync(fd_) != 0)) {
      const int err = -errno;
      *error = "cannot cut " + path + " at offset " + std::to_string(scan.torn_at) + ": " +
               ErrnoText(err);
      return err;
    }
    rep->problems.push_back(path + Offset(scan.torn_at) +
                            "torn record at the end of the file; cut " + std::to_string(cut) +
                            " bytes");
    rep->cut_bytes += cut;
    active_size_ = scan.torn_at;
  }
  total_bytes_ += active_size_;
  if (!scan.damage.empty()) {
    // Corruption is kept as evidence (replay reports it and tells clients what is gone every
    // time); new records go to a fresh segment rather than after the damage.
    close(fd_);
    fd_ = -1;
    closed_.push_back({number, active_size_});
    rep->problems.push_back(path + ": damaged; left as it is, appending to the next segment");
    return CreateSegment(number + 1, /*write_header=*/true, /*replace=*/false, error);
  }
  return 0;
}

int SegmentLog::CreateSegment(uint64_t number, bool write_header, bool replace,
                              std::string* error) {
  const std::string path = SegmentPath(number);
  // A new number must not exist yet; only Open's replacement of a short newest one truncates.
  const int fd = openat(dir_fd_, SegmentName(number).c_str(),
                        O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL), 0600);
  if (fd < 0) {
    const int err = -errno;
    *error = "cannot create " + path + ": " + ErrnoText(err);
    return err;
  }
  if (write_header) {
    std::string header;
    AppendSegmentHeader(UnixNowMs(), &header);
    if (pwrite(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
        (opt_.fsync != FsyncPolicy::kNever && fdatasync(fd) != 0)) {
      const int err = errno != 0 ? -errno : -EIO;
      *error = "cannot write the header of " + path + ": " + ErrnoText(err);
      close(fd);
      return err;
    }
  }
  // The new name must survive a crash as well as the data written to it.
  if (opt_.fsync != FsyncPolicy::kNever && fsync(dir_fd_) != 0) {
    const int err = -errno;
    *error = "cannot fsync " + dir_ + ": " + ErrnoText(err);
    close(fd);
    return err;
  }
  fd_ = fd;
  active_number_ = number;
  active_size_ = write_header ? kSegmentHeaderSize : 0;
  total_bytes_ += active_size_;
  return 0;
}

bool SegmentLog::Roll() {
  if (opt_.fsync != FsyncPolicy::kNever && fdatasync(fd_) != 0) {
    broken_ = true;
    last_error_ = "fdatasync of " + SegmentPath(active_number_) +
                  " before a roll failed: " + ErrnoText(errno);
    pending_ = std::string();
    return false;
  }
  close(fd_);
  fd_ = -1;
  closed_.push_back({active_number_, active_size_});
  std::string error;
  // The header goes out with the first batch: no synchronous write here.
  if (CreateSegment(active_number_ + 1, /*write_header=*/false, /*replace=*/false, &error) != 0) {
    broken_ = true;
    last_error_ = error;
    pending_ = std::string();
    return false;
  }
  return true;
}

void SegmentLog::Append(const Record& r) {
  if (broken_) return;
  EncodeRecord(r, &pending_);
}

SegmentLog::Batch SegmentLog::Take() {
  Batch b;
  if (broken_ || in_flight_ || pending_.empty() || fd_ < 0) return b;
  if (active_size_ > kSegmentHeaderSize && active_size_ + pending_.size() > opt_.segment_bytes &&
      !Roll()) {
    return b;
  }
  b.fd = fd_;
  b.offset = active_size_;
  if (active_size_ == 0) {  // a segment fresh from Roll: its header first
    b.bytes.reserve(kSegmentHeaderSize + pending_.size());
    AppendSegmentHeader(UnixNowMs(), &b.bytes);
    b.bytes.append(pending_);
    pending_.clear();
  } else {
    b.bytes = std::exchange(pending_, std::string());
    // The next batch is likely the same size: one allocation instead of a doubling series.
    pending_.reserve(std::min(b.bytes.size(), kMaxPayload));
  }
  in_flight_ = true;
  in_flight_end_ = b.offset + b.bytes.size();
  return b;
}

void SegmentLog::Committed(uint64_t now_unix_ms) {
  if (!in_flight_) return;
  in_flight_ = false;
  total_bytes_ += in_flight_end_ - active_size_;
  active_size_ = in_flight_end_;
  if ((opt_.retain_bytes != 0 || opt_.retain_secs != 0) && now_unix_ms >= next_retention_ms_) {
    next_retention_ms_ = now_unix_ms + 1000;
    ApplyRetention(now_unix_ms);
  }
}

void SegmentLog::Failed(int res) {
  const uint64_t offset = active_size_;
  const uint64_t bytes = in_flight_ ? in_flight_end_ - active_size_ : 0;
  in_flight_ = false;
  broken_ = true;
  pending_ = std::string();
  last_error_ = "write of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                " of " + SegmentPath(active_number_) +
                " failed: " + (res < 0 ? ErrnoText(res) : std::string("short write"));
}

void SegmentLog::ApplyRetention(uint64_t now_unix_ms) {
  if (opt_.retain_secs != 0) {
    const uint64_t keep_ms = opt_.retain_secs * 1000;
    for (size_t i = 0; i < closed_.size();) {
      struct stat st;
      if (fstatat(dir_fd_, SegmentName(closed_[i].number).c_str(), &st, 0) != 0) {
        ++i;
        continue;
      }
      const uint64_t mtime_ms = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
                                static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000000;
      if (mtime_ms + keep_ms < now_unix_ms && RemoveClosed(i)) continue;
      ++i;
    }
  }
  if (opt_.retain_bytes != 0) {
    while (!closed_.empty() && total_bytes_ > opt_.retain_bytes && RemoveClosed(0)) {
    }
  }
}

bool SegmentLog::RemoveClosed(size_t index) {
  if (unlinkat(dir_fd_, SegmentName(closed_[index].number).c_str(), 0) != 0 && errno != ENOENT) {
    return false;  // tried again at the next retention pass
  }
  total_bytes_ -= closed_[index].bytes;
  closed_.erase(closed_.begin() + static_cast<std::ptrdiff_t>(index));
  return true;
}

int SegmentLog::FlushSync(std::string* error) {
  std::string local_error;
  if (error == nullptr) error = &local_error;
  if (in_flight_) {
    *error = "FlushSync with a batch in flight";
    return -EBUSY;
  }
  while (!broken_ && HasPending()) {
    Batch b = Take();
    if (b.fd < 0) break;
    size_t done = 0;
    while (done < b.bytes.size()) {
      const ssize_t n = pwrite(b.fd, b.bytes.data() + done, b.bytes.size() - done,
                               static_cast<off_t>(b.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Failed(n < 0 ? -errno : 0);
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (!broken_) Committed(UnixNowMs());
  }
  if (!broken_ && fd_ >= 0 && opt_.fsync != FsyncPolicy::kNever && fdatasync(fd_) != 0) {
    broken_ = true;
    last_error_ = "fdatasync of " + SegmentPath(active_number_) + " failed: " + ErrnoText(errno);
  }
  if (broken_) {
    *error = last_error_;
    return -EIO;
  }
  return 0;
}

}  // namespace roomcast::store
