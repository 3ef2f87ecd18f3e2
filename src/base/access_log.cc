#include "base/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/json_writer.h"
#include "base/log.h"

namespace roomcast {

namespace {

// "2026-01-02T03:04:05.678Z"
void AppendTime(std::string* out, int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  tm t;
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(unix_ms % 1000));
  *out += buf;
}

void AppendSeconds(std::string* out, uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%llu.%03llu", static_cast<unsigned long long>(ms / 1000),
                static_cast<unsigned long long>(ms % 1000));
  *out += buf;
}

std::string_view OrDash(std::string_view s) { return s.empty() ? std::string_view("-") : s; }

void AppendText(std::string* out, const AccessEntry& e, int64_t unix_ms) {
  *out += "- - ";  // the peer address (not known to the sessions) and the ident field
  *out += OrDash(e.user);
  *out += " [";
  AppendTime(out, unix_ms);
  *out += "] \"";
  *out += OrDash(e.method);
  *out += ' ';
  *out += OrDash(e.target);
  *out += "\" ";
  json::AppendInt(out, e.status);
  *out += ' ';
  json::AppendUint(out, e.bytes);
  *out += ' ';
  AppendSeconds(out, e.duration_ms);
  *out += ' ';
  *out += TransportName(e.transport);
  *out += '\n';
}

void AppendJson(std::string* out, const AccessEntry& e, int64_t unix_ms) {
  *out += R"({"ts":")";
  AppendTime(out, unix_ms);
  *out += R"(","peer":null,"method":)";
  json::AppendString(out, OrDash(e.method));
  *out += R"(,"path":)";
  json::AppendString(out, OrDash(e.target));
  *out += R"(,"status":)";
  json::AppendInt(out, e.status);
  *out += R"(,"bytes":)";
  json::AppendUint(out, e.bytes);
  *out += R"(,"duration_s":)";
  AppendSeconds(out, e.duration_ms);
  *out += R"(,"user":)";
  if (e.user.empty()) {
    *out += "null";
  } else {
    json::AppendString(out, e.user);
  }
  *out += R"(,"transport":")";
  *out += TransportName(e.transport);
  *out += "\"}\n";
}

}  // namespace

std::string_view TransportName(Transport t) {
  switch (t) {
    case Transport::kHttp:
      return "http";
    case Transport::kWs:
      return "ws";
    case Transport::kSse:
      return "sse";
    case Transport::kPoll:
      return "poll";
  }
  return "http";
}

void AppendAccessLine(std::string* out, const AccessEntry& e, LogFormat format, int64_t unix_ms) {
  if (format == LogFormat::kJson) {
    AppendJson(out, e, unix_ms);
  } else {
    AppendText(out, e, unix_ms);
  }
}

std::shared_ptr<const AccessLogFile> AccessLogFile::Open(const std::string& path,
                                                         std::string* error) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::shared_ptr<const AccessLogFile>(new AccessLogFile(fd, path));
}

AccessLogFile::~AccessLogFile() { close(fd_); }

AccessLogWriter::~AccessLogWriter() {
  retry_at_ms_ = 0;
  Flush(0);
}

void AccessLogWriter::SetFile(std::shared_ptr<const AccessLogFile> file, uint64_t now_ms) {
  if (file == file_) return;
  retry_at_ms_ = 0;
  Flush(now_ms);
  if (!buf_.empty()) {  // the old file cannot take them: they go to the new one
    RC_WARN(shard_, "access log: %zu bytes that %s did not take go to the next file", buf_.size(),
            file_ ? file_->Path().c_str() : "?");
  }
  file_ = std::move(file);
  if (!file_) buf_.clear();
}

void AccessLogWriter::Add(const AccessEntry& e, uint64_t now_ms) {
  if (!file_) return;
  if (buf_.size() >= kMaxBuffered) {
    dropped_->store(dropped_->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const int64_t unix_ms = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  AppendAccessLine(&buf_, e, CurrentLogFormat(), unix_ms);
  if (buf_.size() >= kFlushBytes) Flush(now_ms);
}

void AccessLogWriter::Flush(uint64_t now_ms) {
  if (buf_.empty() || !file_ || now_ms < retry_at_ms_) return;
  const ssize_t n = write(file_->Fd(), buf_.data(), buf_.size());
  if (n == static_cast<ssize_t>(buf_.size())) {
    buf_.clear();
    if (failing_) {
      failing_ = false;
      RC_INFO(shard_, "access log %s: writing again", file_->Path().c_str());
    }
    return;
  }
  const int err = n < 0 ? errno : ENOSPC;  // a short write to a regular file: the disk is full
  write_errors_->store(write_errors_->load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
  if (n > 0) buf_.erase(0, static_cast<size_t>(n));
  retry_at_ms_ = now_ms + kRetryMs;
  if (!failing_) {
    failing_ = true;
    RC_ERROR(shard_,
             "access log %s: write failed: %s; lines wait (up to 1 MiB per shard, then they are "
             "dropped) and the write is retried every second "
             "(roomcast_access_log_write_errors_total)",
             file_->Path().c_str(), std::strerror(err));
  }
}

}  // namespace roomcast
