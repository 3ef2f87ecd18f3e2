// roomcast-logfill: fills a data directory with a synthetic message log the way the server's
// shards write it (one SegmentLog per shard, rooms placed by FNV-1a like room::OwnerShardOf), and
// optionally times the start-up replay of it. For measuring ReplayLog and start-up on big logs.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "room/room_owner.h"
#include "store/segment_log.h"

namespace {

using roomcast::store::FsyncPolicy;
using roomcast::store::LogOptions;
using roomcast::store::Record;
using roomcast::store::ReplayLog;
using roomcast::store::ReplayReport;
using roomcast::store::SegmentLog;

constexpr size_t kFlushBytes = 4u << 20;

struct Options {
  std::string data_dir;
  uint64_t shards = 1;
  uint64_t rooms = 0;
  uint64_t messages = 0;
  uint64_t size = 100;
  uint64_t segment_mb = 64;
  std::string fsync = "interval";
  bool replay = false;
  bool cold = false;
};

struct Flag {
  const char* name;
  uint64_t* number;   // a numeric flag, or
  std::string* text;  // a text flag, or
  bool* boolean;      // a switch
  uint64_t min, max;
  const char* help;
};

std::vector<Flag> Flags(Options* o) {
  return {
      {"data-dir", nullptr, &o->data_dir, nullptr, 0, 0,
       "the data directory (required); the log goes to DIR/log/shard-<N>/"},
      {"shards", &o->shards, nullptr, nullptr, 1, 1024, "shard directories (default 1)"},
      {"rooms", &o->rooms, nullptr, nullptr, 1, 100000000,
       "rooms room-0 .. room-{R-1}, messages spread round robin (required unless --messages 0)"},
      {"messages", &o->messages, nullptr, nullptr, 0, 10000000000ull,
       "message records to write in all (required; 0 with --replay: replay only)"},
      {"size", &o->size, nullptr, nullptr, 0, 1000000, "text bytes per message (default 100)"},
      {"segment-mb", &o->segment_mb, nullptr, nullptr, 1, 1 << 20,
       "segment size in MiB before a roll (default 64)"},
      {"fsync", nullptr, &o->fsync, nullptr, 0, 0,
       "interval (fdatasync at every ~4 MiB flush and roll, the default) or never"},
      {"replay", nullptr, nullptr, &o->replay, 0, 0,
       "afterwards, time ReplayLog over the whole data directory"},
      {"cold", nullptr, nullptr, &o->cold, 0, 0,
       "with --replay: drop the segment files from the page cache first (posix_fadvise)"},
  };
}

void PrintHelp(Options* o) {
  std::printf(
      "usage: roomcast-logfill --data-dir DIR --shards N --rooms R --messages M [flags]\n"
      "Writes M synthetic message records through SegmentLog (FlushSync every ~4 MiB), then\n"
      "prints records, bytes and seconds.\n\nflags:\n");
  for (const Flag& f : Flags(o)) std::printf("  --%-12s %s\n", f.name, f.help);
  std::printf("  --%-12s %s\n", "help", "this text");
}

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr, "roomcast-logfill: %s (see --help)\n", msg.c_str());
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  bool seen_rooms = false, seen_messages = false;
  std::vector<Flag> flags = Flags(&o);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintHelp(&o);
      std::exit(0);
    }
    if (arg.substr(0, 2) != "--") Usage("unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    std::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags) flag = arg == f.name ? &f : flag;
    if (flag == nullptr) Usage("unknown flag --" + std::string(arg));
    if (flag->boolean != nullptr) {
      if (has_value) Usage("--" + std::string(arg) + " takes no value");
      *flag->boolean = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) Usage("--" + std::string(arg) + " needs a value");
      value = argv[++i];
    }
    if (flag->text != nullptr) {
      *flag->text = std::string(value);
      continue;
    }
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < flag->min || n > flag->max) {
      Usage("--" + std::string(arg) + " wants a whole number in " + std::to_string(flag->min) +
            ".." + std::to_string(flag->max) + ", not '" + std::string(value) + "'");
    }
    *flag->number = n;
    seen_rooms |= arg == "rooms";
    seen_messages |= arg == "messages";
  }
  if (o.data_dir.empty()) Usage("--data-dir is required");
  if (!seen_messages) Usage("--messages is required");
  if (o.messages > 0 && !seen_rooms) Usage("--rooms is required");
  if (o.fsync != "interval" && o.fsync != "never") Usage("--fsync is interval or never");
  if (o.cold && !o.replay) Usage("--cold needs --replay");
  return o;
}

// The server's own placement, so that each room's records land in its owner's directory.
int ShardOf(std::string_view room, uint64_t shards) {
  return roomcast::room::OwnerShardOf(room, static_cast<int>(shards));
}

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void AppendNumber(std::string* out, uint64_t n) {
  char b[24];
  auto [end, ec] = std::to_chars(b, b + sizeof(b), n);
  (void)ec;
  out->append(b, end);
}

int Fill(const Options& o) {
  std::vector<std::unique_ptr<SegmentLog>> logs;
  for (uint64_t s = 0; s < o.shards; ++s) {
    LogOptions lo;
    lo.data_dir = o.data_dir;
    lo.shard = static_cast<int>(s);
    lo.segment_bytes = o.segment_mb << 20;
    lo.fsync = o.fsync == "never" ? FsyncPolicy::kNever : FsyncPolicy::kInterval;
    auto log = std::make_unique<SegmentLog>();
    roomcast::store::RecoveryReport rep;
    std::string error;
    if (log->Open(lo, &rep, &error) != 0) {
      std::fprintf(stderr, "roomcast-logfill: %s\n", error.c_str());
      return 1;
    }
    for (const std::string& p : rep.problems) std::fprintf(stderr, "recovery: %s\n", p.c_str());
    logs.push_back(std::move(log));
  }
  std::vector<std::string> names(o.rooms), users(o.rooms);
  std::vector<int> shard_of(o.rooms);
  std::vector<uint64_t> seqs(o.rooms, 0);
  for (uint64_t i = 0; i < o.rooms; ++i) {
    // Appended rather than "u" + to_string(...): GCC 12 warns falsely on that (-Wrestrict).
    names[i].assign("room-").append(std::to_string(i));
    users[i].assign("u").append(std::to_string(i % 1000));
    shard_of[i] = ShardOf(names[i], o.shards);
  }
  const std::string text(o.size, 'x');
  std::string json, cid;
  int64_t ts = UnixMs();
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  for (uint64_t k = 0; k < o.messages; ++k) {
    const uint64_t i = k % o.rooms;
    const uint64_t seq = ++seqs[i];
    if ((k & 1023) == 0) ts = UnixMs();
    cid.assign("c-");
    AppendNumber(&cid, seq);
    json.assign(R"({"type":"msg","room":")");
    json += names[i];
    json += R"(","seq":)";
    AppendNumber(&json, seq);
    json += R"(,"id":")";
    json += cid;
    json += R"(","user":")";
    json += users[i];
    json += R"(","text":")";
    json += text;
    json += R"(","ts":)";
    AppendNumber(&json, static_cast<uint64_t>(ts));
    json += '}';
    SegmentLog& log = *logs[static_cast<size_t>(shard_of[i])];
    log.Append(Record{seq, 0, ts, 0, names[i], "e0000001", users[i], cid, json});
    if (log.PendingBytes() >= kFlushBytes && log.FlushSync(&error) != 0) {
      std::fprintf(stderr, "roomcast-logfill: %s\n", error.c_str());
      return 1;
    }
  }
  uint64_t bytes = 0, segments = 0;
  for (auto& log : logs) {
    if (log->FlushSync(&error) != 0) {
      std::fprintf(stderr, "roomcast-logfill: %s\n", error.c_str());
      return 1;
    }
    bytes += log->TotalBytes();
    segments += log->SegmentCount();
  }
  const double secs = Since(t0);
  std::printf(
      "fill: %llu records, %llu bytes in %llu segments over %llu shards, %.3f s "
      "(%.0f records/s, %.1f MB/s)\n",
      static_cast<unsigned long long>(o.messages), static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(segments), static_cast<unsigned long long>(o.shards), secs,
      o.messages / secs, bytes / secs / 1e6);
  return 0;
}

// Evicts the (clean) pages of every segment file from the page cache.
void DropCache(const std::string& data_dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir + "/log", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".seg") continue;
    const int fd = open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)fdatasync(fd);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
}

int Replay(const Options& o) {
  if (o.cold) DropCache(o.data_dir);
  uint64_t count = 0, seq_sum = 0, json_bytes = 0;
  ReplayReport rep;
  std::string error;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = ReplayLog(
      o.data_dir,
      [&](const Record& r) {
        ++count;
        seq_sum += r.seq;
        json_bytes += r.json.size();
      },
      &rep, &error);
  const double secs = Since(t0);
  if (rc != 0) {
    std::fprintf(stderr, "roomcast-logfill: %s\n", error.c_str());
    return 1;
  }
  for (const std::string& p : rep.problems) std::fprintf(stderr, "replay: %s\n", p.c_str());
  std::printf(
      "replay%s: %llu records, %llu bytes in %llu segments over %llu shards, %.3f s "
      "(%.0f records/s, %.1f MB/s), %zu problems, seq sum %llu, json %llu bytes\n",
      o.cold ? " (cold)" : "", static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(rep.bytes), static_cast<unsigned long long>(rep.segments),
      static_cast<unsigned long long>(rep.shards), secs, count / secs, rep.bytes / secs / 1e6,
      rep.problems.size(), static_cast<unsigned long long>(seq_sum),
      static_cast<unsigned long long>(json_bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  if (o.messages > 0) {
    if (int rc = Fill(o); rc != 0) return rc;
  }
  if (o.replay) return Replay(o);
  return 0;
}
