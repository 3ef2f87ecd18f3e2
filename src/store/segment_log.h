// The durable segment log: every sequenced room event, appended to per-shard segment files.
//
// Layout: <data_dir>/log/shard-<N>/<20-digit segment number>.seg, numbered from 1 up by one. A
// segment is a 16-byte header ("RCLOG\0\1\0" then the u64 creation Unix ms) followed by records,
// each framed as [u32 payload_len][u32 crc32c(payload)][payload], little-endian throughout.
//
// Writing (SegmentLog) is owned by one shard thread and does no I/O of its own on the data path:
// Append only encodes into memory, Take hands the caller one batch (fd, offset, bytes) to write
// however it likes (io_uring), and Committed / Failed report the outcome. Only Open, a segment
// roll inside Take, retention inside Committed and FlushSync make system calls. Knows nothing of
// rooms' meaning, sockets or the loop.
//
// Reading (ReplayLog) is for start-up, before the shards run: it reads every shard directory
// (the shard count may have changed since) and never modifies a file. Damage is never fatal:
// a torn or corrupt record ends its segment, and is reported with file, offset and reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::store {

// kRecControl: a room's moderation record (seq 0, not an event viewers get; json is the act,
// owner/moderation.h), replayed into the room's moderation state and audit log.
enum RecordFlags : uint8_t { kRecPrio = 1, kRecRetract = 2, kRecControl = 4 };
inline constexpr uint8_t kKnownRecordFlags = kRecPrio | kRecRetract | kRecControl;

// One sequenced room event. The views must outlive an EncodeRecord / Append call; a decoded or
// replayed Record's views point into the reader's buffer and are valid only during the call.
struct Record {
  uint64_t seq = 0;                               // the room's seq of this event
  uint64_t target = 0;                            // a retract: the seq it removes; else 0
  int64_t ts_ms = 0;                              // Unix ms
  uint8_t flags = 0;                              // RecordFlags
  std::string_view room, epoch, user, cid, json;  // json: the exact object text viewers get
};

inline constexpr size_t kMaxRoomLen = 64;
inline constexpr size_t kMaxEpochLen = 64;
inline constexpr size_t kMaxUserLen = 1024;
inline constexpr size_t kMaxCidLen = 1024;
inline constexpr size_t kMaxJsonLen = 1u << 20;
inline constexpr size_t kMaxPayload = (1u << 20) + 4096;
inline constexpr size_t kFrameHeaderSize = 8;     // u32 payload_len, u32 crc32c
inline constexpr size_t kSegmentHeaderSize = 16;  // magic, u64 creation Unix ms
inline constexpr char kSegmentMagic[8] = {'R', 'C', 'L', 'O', 'G', '\0', '\1', '\0'};

// Whether every field is within its limit (EncodeRecord's precondition).
[[nodiscard]] bool RecordFits(const Record& r);
// The encoded size (frame header included) of a record that fits.
[[nodiscard]] size_t EncodedSize(const Record& r);
// Appends the framed record to *out. A record that does not fit is a caller bug: the process
// stops with a message (check RecordFits first when the fields come from outside).
void EncodeRecord(const Record& r, std::string* out);

enum class DecodeStatus {
  kOk,
  kNeedMore,  // torn: fewer bytes than the frame says
  kCorrupt,   // bad crc, bad length, bad inner lengths, unknown type
};
// Decodes the frame at the start of `in`; on kOk sets *consumed to its size. A payload_len of 0
// or above kMaxPayload is kCorrupt even when the input is short. `reason`, when given, is set to
// a static text for anything but kOk.
[[nodiscard]] DecodeStatus DecodeRecord(std::span<const uint8_t> in, Record* out, size_t* consumed,
                                        const char** reason = nullptr);

// A cheap test for scanning past damage: false when `in` certainly does not start a frame (bad
// length, type or flags in the bytes present); true means "decode it to know".
[[nodiscard]] bool MayStartRecord(std::span<const uint8_t> in);
// The smallest a framed record can be: an upper bound on the records a damaged range held is
// its size divided by this, rounded up.
inline constexpr size_t kMinEncodedSize = kFrameHeaderSize + 36;  // the fixed fields alone

enum class FsyncPolicy {
  kBatch,     // the caller fdatasyncs ActiveFd() after every batch
  kInterval,  // the caller fdatasyncs ActiveFd() now and then
  kNever,     // nobody does: the page cache decides (rolls and FlushSync skip it too)
};

struct LogOptions {
  std::string data_dir;  // the log lives in data_dir/log/shard-<shard>
  int shard = 0;
  uint64_t segment_bytes = 64ull << 20;  // roll when the active segment would pass this
  uint64_t retain_bytes = 0;  // 0: no limit; total bytes of this shard's segments (active too)
  uint64_t retain_secs = 0;   // 0: no limit; a closed segment whose mtime is older goes
  FsyncPolicy fsync = FsyncPolicy::kInterval;
};

struct RecoveryReport {
  uint64_t segments = 0;       // this shard's segment files found (good ones, active included)
  uint64_t records = 0;        // good records in the newest segment (the only one scanned)
  uint64_t bytes = 0;          // bytes of the good segments after repair
  uint64_t cut_bytes = 0;      // bytes of a torn tail cut from the newest segment (or a short one)
  uint64_t damaged_bytes = 0;  // corrupt bytes found in the newest segment (kept, never cut)
  std::vector<std::string> problems;  // "<file>: offset <n>: <reason> ..." one per finding
};

// At most this many records fit in `bytes` of a damaged range (at least 1).
[[nodiscard]] inline uint64_t MaxRecordsIn(uint64_t bytes) {
  return bytes == 0 ? 1 : (bytes + kMinEncodedSize - 1) / kMinEncodedSize;
}

// One shard's writer. Only the owning shard thread may call it (Open may run on any thread before
// that). Not copyable. At most one batch is in flight: Take, then Committed or Failed.
class SegmentLog {
 public:
  SegmentLog() = default;
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;
  ~SegmentLog();  // closes the fd; no implicit flush (pending bytes are lost)

  // Creates the directories as needed (mode 0700), reads every segment's header (a wrong magic is
  // reported and that file is left alone: never deleted, never counted, never appended to), scans
  // the newest good segment and cuts a torn tail (only a last, partial record right after a good
  // one: ftruncate, reported with file, offset and reason). Corruption anywhere else is never
  // cut: it is reported, the segment is kept as it is, and appending goes to a new segment. A
  // newest segment shorter than its header is replaced.
  // Opens the newest segment (O_WRONLY) for appending, or creates the next one (segment 1 in an
  // empty directory). Call once. Returns 0, or -errno with *error set; never throws or aborts on
  // bad files. rep may be null.
  [[nodiscard]] int Open(const LogOptions& o, RecoveryReport* rep, std::string* error);

  // Encodes into the pending buffer (memory only). Dropped once the log is Broken, so that a dead
  // disk does not grow memory without bound. A record that does not fit stops the process.
  void Append(const Record& r);
  [[nodiscard]] bool HasPending() const { return !pending_.empty(); }
  [[nodiscard]] size_t PendingBytes() const { return pending_.size(); }

  struct Batch {
    int fd = -1;  // -1: nothing to write (empty, a batch in flight, or Broken)
    uint64_t offset = 0;
    std::string bytes;
  };
  // Takes the whole pending buffer as one batch to write at `offset` of `fd`. When the active
  // segment holds records and would pass segment_bytes, rolls first: fdatasyncs (unless kNever)
  // and closes the old segment, creates the next one, and the batch then starts with the new
  // segment's header at offset 0. A batch is never split, so one larger than segment_bytes makes
  // a larger segment.
  [[nodiscard]] Batch Take();
  // The caller wrote the whole batch. Applies retention at most once per second of now_unix_ms:
  // deletes closed segments, oldest first, while the shard's bytes exceed retain_bytes, and every
  // closed segment whose mtime is more than retain_secs before now. Never the active one.
  void Committed(uint64_t now_unix_ms);
  // The batch's write failed (res = -errno) or was short: the log is broken for writing from now
  // on (Take returns fd -1, Append drops). LastError says what and where.
  void Failed(int res);
  [[nodiscard]] bool Broken() const { return broken_; }
  [[nodiscard]] const std::string& LastError() const { return last_error_; }

  // The active segment's fd, for the caller's fdatasync; -1 before Open.
  [[nodiscard]] int ActiveFd() const { return fd_; }
  // Metrics: good segment files of this shard (active included) and their bytes.
  [[nodiscard]] uint64_t SegmentCount() const { return closed_.size() + (fd_ >= 0 ? 1 : 0); }
  [[nodiscard]] uint64_t TotalBytes() const { return total_bytes_; }

  // Synchronous: writes everything pending with pwrite and fdatasyncs (unless kNever). For
  // shutdown and tools, never on a running shard's loop. Not while a batch is in flight (-EBUSY).
  [[nodiscard]] int FlushSync(std::string* error);

 private:
  struct Closed {
    uint64_t number = 0;
    uint64_t bytes = 0;
  };
  // Open's treatment of one segment file found at start-up (oldest first; newest: the last).
  [[nodiscard]] int RecoverSegment(uint64_t number, bool newest, RecoveryReport* rep,
                                   std::string* error);
  [[nodiscard]] int RecoverNewest(uint64_t number, uint64_t size, RecoveryReport* rep,
                                  std::string* error);
  [[nodiscard]] int CreateSegment(uint64_t number, bool write_header, bool replace,
                                  std::string* error);
  [[nodiscard]] bool Roll();
  void ApplyRetention(uint64_t now_unix_ms);
  [[nodiscard]] bool RemoveClosed(size_t index);
  [[nodiscard]] std::string SegmentPath(uint64_t number) const;

  LogOptions opt_;
  std::string dir_;
  int dir_fd_ = -1;
  int fd_ = -1;
  uint64_t active_number_ = 0;
  uint64_t active_size_ = 0;    // bytes committed to the active segment
  uint64_t total_bytes_ = 0;    // closed + active
  std::vector<Closed> closed_;  // oldest first
  std::string pending_;
  bool in_flight_ = false;
  uint64_t in_flight_end_ = 0;  // the active size once the batch in flight is written
  uint64_t next_retention_ms_ = 0;
  bool broken_ = false;
  std::string last_error_;
};

struct ReplayReport {
  uint64_t shards = 0, segments = 0, records = 0;
  uint64_t bytes = 0;      // bytes of the segment files read
  uint64_t cut_bytes = 0;  // bytes not replayed: damaged ranges, torn tails, whole bad files
  uint64_t damaged = 0;    // damaged ranges met (each also reported to on_damage)
  std::vector<std::string> problems;  // "<file>: offset <n>: <reason> ..." one per finding
};

// A stretch of the log where records may have been lost, met by replay in log order: every
// record replayed before the call was written before it, every one after, after it.
struct LogDamage {
  std::string_view file;
  uint64_t offset = 0, bytes = 0;
  uint64_t max_records = 0;  // at most this many records were in it (MaxRecordsIn)
};

// Start-up replay. Reads every shard-<N> directory under data_dir/log in shard-number order, each
// one's segments in number order, and calls fn for every good record (views valid during the call
// only). A bad record costs only itself: the scan finds the next intact record after it. Each
// damaged range is reported and given to on_damage (when set) in order with the records; so is a
// torn record at the end of any segment but a directory's newest (only there can a crash have
// torn a record that was never acknowledged). A short or foreign file is reported and skipped.
// Modifies nothing. A missing data_dir/log is 0 records. Returns 0, or -errno with *error set for
// a directory that cannot be read. rep and error may be null.
[[nodiscard]] int ReplayLog(const std::string& data_dir,
                            const std::function<void(const Record&)>& fn, ReplayReport* rep,
                            std::string* error,
                            const std::function<void(const LogDamage&)>& on_damage = {});

}  // namespace roomcast::store
