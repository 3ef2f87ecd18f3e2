// Segment names, headers and the record scan shared by SegmentLog::Open and ReplayLog.
#include "segment_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace roomcast::store {

namespace {

constexpr size_t kNameDigits = 20;

}  // namespace

std::string SegmentName(uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.seg", static_cast<unsigned long long>(number));
  return name;
}

bool ParseSegmentName(const char* name, uint64_t* number) {
  if (std::strlen(name) != kNameDigits + 4 || std::strcmp(name + kNameDigits, ".seg") != 0) {
    return false;
  }
  uint64_t n = 0;
  for (size_t i = 0; i < kNameDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    const uint64_t d = static_cast<uint64_t>(name[i] - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  *number = n;
  return true;
}

bool ParseShardDirName(const char* name, int* shard) {
  if (std::strncmp(name, "shard-", 6) != 0 || name[6] == '\0') return false;
  long long n = 0;
  for (const char* p = name + 6; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9' || n > 100000000) return false;
    n = n * 10 + (*p - '0');
  }
  *shard = static_cast<int>(n);
  return true;
}

int ListSegments(const std::string& dir, std::vector<uint64_t>* numbers) {
  numbers->clear();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -errno;
  errno = 0;
  while (dirent* e = readdir(d)) {
    uint64_t n;
    if (ParseSegmentName(e->d_name, &n)) numbers->push_back(n);
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return -err;
  std::sort(numbers->begin(), numbers->end());
  return 0;
}

void AppendSegmentHeader(uint64_t created_unix_ms, std::string* out) {
  out->append(kSegmentMagic, sizeof(kSegmentMagic));
  char ms[8];
  std::memcpy(ms, &created_unix_ms, 8);
  out->append(ms, 8);
}

int CheckSegmentHeader(int fd, HeaderStatus* status) {
  char h[kSegmentHeaderSize];
  size_t got = 0;
  while (got < sizeof(h)) {
    const ssize_t n = pread(fd, h + got, sizeof(h) - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < sizeof(h)) {
    *status = HeaderStatus::kShort;
  } else if (std::memcmp(h, kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    *status = HeaderStatus::kBadMagic;
  } else {
    *status = HeaderStatus::kOk;
  }
  return 0;
}

uint64_t UnixNowMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

std::string ErrnoText(int err) { return std::strerror(err < 0 ? -err : err); }

SegmentScanner::SegmentScanner(size_t buffer_bytes)
    // Any frame the decoder accepts must fit after the buffer is compacted.
    : buf_size_(std::max(buffer_bytes, kFrameHeaderSize + kMaxPayload)),
      buf_(std::make_unique_for_overwrite<uint8_t[]>(buf_size_)) {}

ScanResult SegmentScanner::Scan(int fd, uint64_t start,
                                const std::function<void(const Record&)>* fn,
                                const std::function<void(const DamagedRange&)>* on_damage) {
  ScanResult res;
  res.good_end = start;
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  uint64_t base = start;  // file offset of buf_[0]
  size_t filled = 0, pos = 0;
  bool eof = false;
  bool in_damage = false;   // searching for the next good frame after a bad one
  bool maybe_torn = false;  // ...after a frame that runs past the end of the file
  DamagedRange bad;
  auto end_damage = [&](uint64_t end) {
    bad.bytes = end - bad.offset;
    res.damage.push_back(bad);
    if (on_damage != nullptr) (*on_damage)(bad);
    in_damage = false;
  };
  for (;;) {
    while (pos < filled) {
      const std::span<const uint8_t> in(buf_.get() + pos, filled - pos);
      if (in_damage && !MayStartRecord(in)) {  // cheap test before the crc of a candidate
        ++pos;
        continue;
      }
      Record rec;
      size_t used = 0;
      const char* why = nullptr;
      const DecodeStatus st = DecodeRecord(in, &rec, &used, &why);
      if (st == DecodeStatus::kNeedMore && !eof) break;  // read on, then decide
      if (st == DecodeStatus::kOk) {
        if (in_damage) end_damage(base + pos);
        if (fn != nullptr) (*fn)(rec);
        ++res.records;
        pos += used;
        res.good_end = base + pos;
        continue;
      }
      if (in_damage) {  // not a frame start after all
        ++pos;
        continue;
      }
      // A bad frame, or one that runs past the end of the file: a torn tail only if no good
      // record follows inside it (a bad length can also claim too much).
      in_damage = true;
      maybe_torn = st == DecodeStatus::kNeedMore;
      bad = DamagedRange{base + pos, 0, maybe_torn ? "bad payload length" : why};
      ++pos;
    }
    if (eof) {
      if (in_damage && maybe_torn) {
        res.torn = true;
        res.torn_at = bad.offset;
      } else if (in_damage) {
        end_damage(base + filled);
      }
      return res;
    }
    if (pos > 0) {
      std::memmove(buf_.get(), buf_.get() + pos, filled - pos);
      base += pos;
      filled -= pos;
      pos = 0;
    }
    const ssize_t n =
        pread(fd, buf_.get() + filled, buf_size_ - filled, static_cast<off_t>(base + filled));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      res.err = -errno;
      return res;
    }
    if (n == 0) eof = true;
    filled += static_cast<size_t>(n);
  }
}

}  // namespace roomcast::store
