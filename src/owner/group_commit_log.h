// GroupCommitLog: the durable EventLog (with --data-dir). Events appended during one loop turn
// are written with one io_uring write when the loop is about to sleep (StartWrite); the messages
// that must not get ahead of them (acks, forwards) wait in memory until that write completes
// (and, with --fsync batch, its fdatasync), and only then do joins and polls see the events. So
// nothing a client was told about can be lost to a crash of the process. A failed write or sync
// breaks the log for good: the held acks become kLogFailed refusals, nothing more is written or
// synced, and the owner refuses publishes. Owner shard thread only (Open: any thread, before).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/config.h"
#include "base/histogram.h"
#include "io/shard_loop.h"
#include "owner/event_log.h"
#include "store/segment_log.h"

namespace roomcast::owner {

// Counters another thread may read (/metrics); the caller owns them. Owner thread writes only.
struct LogCounters {
  std::atomic<uint64_t>* records;
  std::atomic<uint64_t>* bytes;
  std::atomic<uint64_t>* writes;  // group commits
  std::atomic<uint64_t>* fsyncs;
  std::atomic<uint64_t>* write_errors;
  Histogram* commit_us;
  std::atomic<uint64_t>* commit_us_max;
  std::atomic<int>* broken_logs;  // server-wide: logs that failed (for /readyz)
};

class GroupCommitLog final : public EventLog {
 public:
  GroupCommitLog(int shard, io::Loop* loop, Outbox* out, LogCounters counters);
  GroupCommitLog(const GroupCommitLog&) = delete;
  GroupCommitLog& operator=(const GroupCommitLog&) = delete;

  // Opens (and repairs) this shard's segment log; see store::SegmentLog::Open.
  [[nodiscard]] int Open(const store::LogOptions& o, uint32_t fsync_interval_ms,
                         store::RecoveryReport* rep, std::string* error);

  // EventLog
  bool Writable() const override { return !log_.Broken(); }
  bool Deferred() const override { return true; }
  void Append(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
              std::string_view cid, uint64_t target, int64_t ts_ms) override;
  void AppendControl(room::OwnerRoom* r, std::string_view actor, std::string_view json,
                     int64_t ts_ms) override;
  void SendAfterWritten(int to, mesh::Message&& msg) override;
  void SetRollHook(std::function<void()> hook) override { roll_hook_ = std::move(hook); }

  // --redis: this log is the node's local cache (CacheLog), never the source of truth: a failed
  // write stops the caching only (nothing is refused, readiness stays).
  void ServeAsCache() { cache_ = true; }
  // Appends one record to the batch being collected (nothing is made visible or held).
  void AppendRecord(const store::Record& rec);

  // Before the loop sleeps: the group commit, and the interval fdatasync when due. Returns how
  // long the loop may sleep for this log's sake (UINT32_MAX: as long as it likes).
  [[nodiscard]] uint32_t StartWrite(uint64_t now_ms);
  // The loop's completion of a write or sync this log submitted.
  void OnFileDone(uint32_t token, int res);
  // After the loop ended: writes what is left, synchronously; drops held messages.
  void Close();

  [[nodiscard]] uint64_t SegmentCount() const { return log_.SegmentCount(); }
  [[nodiscard]] uint64_t TotalBytes() const { return log_.TotalBytes(); }

 private:
  struct Group {
    std::vector<std::pair<int, mesh::Message>> held;             // messages sent once written
    std::vector<std::pair<room::OwnerRoom*, uint64_t>> visible;  // rooms' seqs shown then
    bool Empty() const { return held.empty() && visible.empty(); }
  };
  void StartGroupCommit();
  void Release();
  void Failed(const char* what, int res);

  int shard_;
  io::Loop* loop_;
  Outbox* out_;
  LogCounters counters_;
  store::SegmentLog log_;
  store::FsyncPolicy fsync_ = store::FsyncPolicy::kInterval;
  uint32_t fsync_interval_ms_ = 1000;
  Group pending_;   // events of the batch being collected
  Group inflight_;  // events of the batch being written
  store::SegmentLog::Batch batch_;
  uint32_t written_ = 0;    // bytes of batch_ written so far
  bool busy_ = false;       // a write (or its batch fsync) is in flight
  bool sync_busy_ = false;  // an interval fsync is in flight
  bool unsynced_ = false;   // written since the last interval fsync
  uint64_t next_sync_ms_ = 0;
  uint64_t started_us_ = 0;
  std::function<void()> roll_hook_;
  bool cache_ = false;
};

}  // namespace roomcast::owner
