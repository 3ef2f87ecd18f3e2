// The access log (--access-log FILE): one line per HTTP request answered and per WebSocket, SSE
// or long-poll session ended, as text (nginx "combined"-like) or as one JSON object a line
// (--log-format json); docs/operations.md "Access log" has both formats. The line itself is built
// by the session layer (session/access_records.h), which knows the request; this file holds the
// file and the per-shard buffer.
//
// An AccessLogFile is opened by the main thread (at start and again at each SIGHUP, so that a
// rotated file is let go) and shared by the shards; it is closed when the last shard has moved
// to the next one. Each shard's AccessLogWriter collects lines in memory and writes them with one
// write() (O_APPEND: whole lines, never interleaved with another shard's) when its loop is about
// to sleep or when 64 KiB are waiting: no more time in write() than the error log spends, and
// far fewer calls. At most 1 MiB waits per shard; a line beyond that is dropped and counted. A
// failed write is counted, logged once (and once more when writes work again), retried at most
// once a second, and never stops the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/config.h"

namespace roomcast {

// How a request was served.
enum class Transport : uint8_t { kHttp, kWs, kSse, kPoll };
[[nodiscard]] std::string_view TransportName(Transport t);

// One line: what was asked and how it was answered. Every view must be printable ASCII already
// (the session layer escapes what a client sent); empty method/target/user print as "-".
struct AccessEntry {
  std::string_view method;
  std::string_view target;  // path and query, with token values redacted
  int status = 0;
  uint64_t bytes = 0;
  uint64_t duration_ms = 0;
  std::string_view user;  // the token's sub (or --dev-auth's user); empty: anonymous
  Transport transport = Transport::kHttp;
};

// The line for e as text or JSON (with its newline), at Unix time unix_ms.
void AppendAccessLine(std::string* out, const AccessEntry& e, LogFormat format, int64_t unix_ms);

class AccessLogFile {
 public:
  // Opens (creating, mode 0640) path for appending; null with *error.
  static std::shared_ptr<const AccessLogFile> Open(const std::string& path, std::string* error);
  ~AccessLogFile();
  AccessLogFile(const AccessLogFile&) = delete;
  AccessLogFile& operator=(const AccessLogFile&) = delete;
  [[nodiscard]] int Fd() const { return fd_; }
  [[nodiscard]] const std::string& Path() const { return path_; }

 private:
  AccessLogFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// One shard's buffer. Shard thread only; the counters are the shard's own (ShardMetrics).
class AccessLogWriter {
 public:
  static constexpr size_t kFlushBytes = 64 * 1024;
  static constexpr size_t kMaxBuffered = 1024 * 1024;
  static constexpr uint64_t kRetryMs = 1000;

  AccessLogWriter(int shard, std::atomic<uint64_t>* write_errors, std::atomic<uint64_t>* dropped)
      : shard_(shard), write_errors_(write_errors), dropped_(dropped) {}
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // The file lines go to from now on (null: off). What waits is written to the previous file
  // first.
  void SetFile(std::shared_ptr<const AccessLogFile> file, uint64_t now_ms);
  [[nodiscard]] bool On() const { return file_ != nullptr; }
  // Adds a line (the format as --log-format is now); writes when kFlushBytes wait.
  void Add(const AccessEntry& e, uint64_t now_ms);
  // Writes what waits (the loop is about to sleep).
  void Flush(uint64_t now_ms);
  [[nodiscard]] size_t Buffered() const { return buf_.size(); }

 private:
  int shard_;
  std::atomic<uint64_t>* write_errors_;
  std::atomic<uint64_t>* dropped_;
  std::shared_ptr<const AccessLogFile> file_;
  std::string buf_;
  uint64_t retry_at_ms_ = 0;  // after a failed write: not before this
  bool failing_ = false;      // the last write failed (logged once)
};

}  // namespace roomcast
