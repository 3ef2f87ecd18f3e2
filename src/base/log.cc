#include "base/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "base/json_writer.h"
#include "base/utf8.h"

namespace roomcast {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::atomic<bool> g_journal{false};
const char* kNames[] = {"debug", "info", "warn", "error"};
constexpr size_t kMaxLine = 1024;

// $JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected to journald; stderr is that
// stream unless something redirected it.
bool StderrIsJournal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js || !*js) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == static_cast<unsigned long long>(st.st_dev) &&
         ino == static_cast<unsigned long long>(st.st_ino);
}

// "2026-01-02T03:04:05.678Z"
int FormatTime(char* out, size_t size) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  return std::snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900,
                       t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                       ts.tv_nsec / 1000000);
}

std::string JsonLine(LogLevel level, int shard, std::string_view msg) {
  char ts[40];
  FormatTime(ts, sizeof(ts));
  std::string out = R"({"ts":")";
  out += ts;
  out += R"(","level":")";
  out += kNames[static_cast<int>(level)];
  out += '"';
  if (shard >= 0) {
    out += R"(,"shard":)";
    json::AppendInt(&out, shard);
  }
  out += R"(,"msg":)";
  if (utf8::IsValid(msg)) {
    json::AppendString(&out, msg);
  } else {  // bytes from a client that are not UTF-8: keep the line valid JSON
    std::string ascii(msg);
    for (char& ch : ascii) ch = static_cast<unsigned char>(ch) >= 0x80 ? '?' : ch;
    json::AppendString(&out, ascii);
  }
  out += '}';
  return out;
}

}  // namespace

void ConfigureLog(LogLevel level, LogFormat format) {
  SetLogLevel(level);
  SetLogFormat(format);
  g_journal.store(StderrIsJournal());
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }
LogFormat CurrentLogFormat() {
  return static_cast<LogFormat>(g_format.load(std::memory_order_relaxed));
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

int SyslogPriority(LogLevel level) {
  static constexpr int kPriority[] = {7, 6, 4, 3};
  return kPriority[static_cast<int>(level)];
}

void Logf(LogLevel level, int shard, const char* fmt, ...) {
  char msg[kMaxLine];
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  const std::string_view text(
      msg, m < 0 ? 0 : std::min<size_t>(static_cast<size_t>(m), sizeof(msg) - 1));
  const bool journal = g_journal.load(std::memory_order_relaxed);
  std::string line;
  line.reserve(kMaxLine + 64);
  if (journal) line += "<" + std::to_string(SyslogPriority(level)) + ">";
  if (static_cast<LogFormat>(g_format.load(std::memory_order_relaxed)) == LogFormat::kJson) {
    line += JsonLine(level, shard, text);
  } else {
    char head[80];
    int n = journal ? 0 : FormatTime(head, sizeof(head));  // journald stamps lines itself
    n += std::snprintf(head + n, sizeof(head) - static_cast<size_t>(n), "%s%-5s ",
                       journal ? "" : " ", kNames[static_cast<int>(level)]);
    if (shard >= 0) {
      std::snprintf(head + n, sizeof(head) - static_cast<size_t>(n), "shard=%d ", shard);
    }
    line += head;
    line += text;
  }
  line += '\n';
  ssize_t w = write(STDERR_FILENO, line.data(), line.size());
  (void)w;
}

}  // namespace roomcast
