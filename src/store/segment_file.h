// Private to src/store: what the writer and the start-up reader share about segment files, their
// names, their header and the scan of their records. Any thread; no state but the scan buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/segment_log.h"

namespace roomcast::store {

// "00000000000000000042.seg"
[[nodiscard]] std::string SegmentName(uint64_t number);
// Exactly 20 digits then ".seg"; false for anything else.
[[nodiscard]] bool ParseSegmentName(const char* name, uint64_t* number);
// "shard-<decimal>"; false for anything else.
[[nodiscard]] bool ParseShardDirName(const char* name, int* shard);
// The segment numbers found in dir, ascending. 0 or -errno.
[[nodiscard]] int ListSegments(const std::string& dir, std::vector<uint64_t>* numbers);

void AppendSegmentHeader(uint64_t created_unix_ms, std::string* out);
enum class HeaderStatus { kOk, kShort, kBadMagic };
// Reads the first kSegmentHeaderSize bytes. 0 or -errno; *status set on 0.
[[nodiscard]] int CheckSegmentHeader(int fd, HeaderStatus* status);

[[nodiscard]] uint64_t UnixNowMs();
// "strerror text" for a -errno or errno value.
[[nodiscard]] std::string ErrnoText(int err);

// A stretch of a segment that holds no decodable record between two good ones (or a good one and
// the end of the file): corruption. Every intact record after it is still read.
struct DamagedRange {
  uint64_t offset = 0;  // file offset where decoding first failed
  uint64_t bytes = 0;   // up to the next good record, or to the end of the file
  const char* reason = nullptr;
};

struct ScanResult {
  uint64_t good_end = 0;  // file offset just past the last good record
  uint64_t records = 0;   // good records seen
  // A torn tail: the last frame, starting right after a good record (or the header), claims more
  // bytes than the file has. The only damage a crash mid-write leaves; its record was never
  // acknowledged. torn_at is its offset (== good_end).
  bool torn = false;
  uint64_t torn_at = 0;
  std::vector<DamagedRange> damage;  // in file order; anything else that failed to decode
  int err = 0;                       // -errno of a failed read (the scan stops there)
};

// Reads a segment's records sequentially with large pread calls into one reused buffer.
class SegmentScanner {
 public:
  static constexpr size_t kDefaultBuffer = 4u << 20;
  explicit SegmentScanner(size_t buffer_bytes = kDefaultBuffer);
  // Decodes records from file offset `start` to the end of the file, calling fn (when non-null)
  // for each good one. After a bad frame it searches byte by byte for the next frame that
  // decodes whole (length, crc32c and inner lengths), so one bad byte costs one record, not the
  // rest of the segment; on_damage (when non-null) is called for each damaged range, in order
  // with the records around it.
  ScanResult Scan(int fd, uint64_t start, const std::function<void(const Record&)>* fn,
                  const std::function<void(const DamagedRange&)>* on_damage = nullptr);

 private:
  // Not zeroed: pread fills every byte before it is read, and zeroing 4 MiB per replay touched
  // every page for nothing (most segments, and every fuzz input, are far smaller).
  size_t buf_size_;
  std::unique_ptr<uint8_t[]> buf_;
};

}  // namespace roomcast::store
