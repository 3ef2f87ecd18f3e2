#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "access_log_setup.h"
#include "base/log.h"
#include "chat/mod_op.h"
#include "longpoll/poll_cursor.h"
#include "reload.h"
#include "server_shared.h"
#include "service/notify.h"
#include "service/replay_progress.h"
#include "service/single_instance.h"
#include "service/watchdog.h"
#include "shard.h"
#include "supervisor.h"
#include "user_token_keys.h"

namespace roomcast::server {

namespace {
// Table slots beyond a shard's share of --max-conns: 64 for 503 answers, 64 of loop slack and one
// listen backlog (1024) that a multishot accept may still take after it was told to pause.
constexpr uint64_t kTableOverhead = 64 + 64 + 1024 + 16;
// Opens every shard's log, cutting torn tails. A local cache that cannot be opened is only a
// head start lost (Redis holds every event): that shard runs without it.
bool OpenLogs(const std::string& dir, bool cache, std::vector<std::unique_ptr<Shard>>& shards,
              ReplayProgress* progress) {
  const char* what = cache ? "local cache" : "message log";
  for (size_t i = 0; i < shards.size(); ++i) {
    progress->Tick(0);
    store::RecoveryReport rep;
    std::string err;
    const int shard = static_cast<int>(i);
    if (shards[i]->OpenLog(&rep, &err) != 0) {
      if (!cache) {
        RC_ERROR(shard, "cannot open the message log in %s: %s", dir.c_str(), err.c_str());
        return false;
      }
      RC_WARN(shard,
              "cannot open the local cache in %s: %s; this shard runs without it (delete the "
              "directory to start it afresh)",
              dir.c_str(), err.c_str());
      continue;
    }
    for (const std::string& p : rep.problems) RC_WARN(shard, "%s repaired: %s", what, p.c_str());
    if (rep.cut_bytes) {
      RC_WARN(shard, "%s: cut %llu bytes of a torn tail", what,
              static_cast<unsigned long long>(rep.cut_bytes));
    }
    if (rep.damaged_bytes) {
      RC_WARN(shard,
              "%s: %llu damaged bytes in the newest segment, kept; intact records "
              "after them are replayed",
              what, static_cast<unsigned long long>(rep.damaged_bytes));
    }
  }
  return true;
}

// Opens every shard's log and replays all of them into the rooms' owners. With --redis the log
// is the local cache (owner/cache_log.h): replayed into the rooms' copies.
bool RestoreFromLog(const Config& cfg, std::vector<std::unique_ptr<Shard>>& shards,
                    Notifier* notifier) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool cache = !cfg.redis.empty();
  const char* what = cache ? "local cache" : "message log";
  const std::string dir = cache ? CacheDir(cfg) : cfg.data_dir;
  ReplayProgress progress(notifier);
  if (!OpenLogs(dir, cache, shards, &progress)) return false;
  store::ReplayReport rep;
  std::string err;
  const int n = static_cast<int>(shards.size());
  const int rc = store::ReplayLog(
      dir,
      [&](const store::Record& r) {
        progress.Tick(1);
        if (cache) {
          shards[static_cast<size_t>(room::OwnerShardOf(r.room, n))]->Owner().RestoreCopy(r);
          return;
        }
        if (r.room == chat::kGlobalRoom) {  // server-wide terms: every shard keeps them
          for (auto& sh : shards) sh->Owner().RestoreEvent(r);
          return;
        }
        shards[static_cast<size_t>(room::OwnerShardOf(r.room, n))]->Owner().RestoreEvent(r);
      },
      &rep, &err,
      [&](const store::LogDamage& d) {
        // A damaged cache only loses a head start: a copy with a hole is dropped at the end.
        if (!cache) {
          for (auto& sh : shards) sh->Owner().RestoreDamage(d.max_records);
        }
      });
  if (rc != 0 && cache) {
    RC_WARN(-1, "cannot read the local cache in %s: %s; rooms are read from Redis", dir.c_str(),
            err.c_str());
  } else if (rc != 0) {
    RC_ERROR(-1, "cannot read the message log in %s: %s", dir.c_str(), err.c_str());
    return false;
  }
  for (const std::string& p : rep.problems) RC_WARN(-1, "%s: %s", what, p.c_str());
  size_t rooms = 0;
  for (auto& sh : shards)
    rooms += cache ? sh->Owner().EndRestoreCopies() : sh->Owner().EndRestore();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  RC_INFO(-1,
          "%s in %s/log: replayed %llu %s (%llu MiB, %llu segments, %llu shard "
          "dirs) into %zu rooms%s in %.0f ms; fsync=%s",
          what, dir.c_str(), static_cast<unsigned long long>(rep.records),
          cache ? "records" : "events", static_cast<unsigned long long>(rep.bytes >> 20),
          static_cast<unsigned long long>(rep.segments),
          static_cast<unsigned long long>(rep.shards), rooms,
          cache ? " (copies, checked against Redis when first followed)" : "", ms,
          cfg.fsync == FsyncMode::kBatch      ? "batch"
          : cfg.fsync == FsyncMode::kInterval ? "interval"
                                              : "never");
  return true;
}

// The stop and reload signals are blocked in every thread (the main thread takes them with
// sigtimedwait, supervisor.h);
// a broken pipe is an error return, and a file over RLIMIT_FSIZE fails the write (EFBIG, reported
// by the log) instead of killing the process.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
  return set;
}

// A fixed-file table cannot be larger than RLIMIT_NOFILE: raises the soft limit to the hard one
// and, if the shards' tables together still cannot hold --max-conns, lowers --max-conns and says
// so. Returns the most connections one shard's table can hold.
uint32_t FitConnectionsToDescriptorLimit(Config* cfg) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return UINT32_MAX;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  const uint64_t table_cap = rl.rlim_cur > 256 ? rl.rlim_cur - kTableOverhead : 128;
  const uint32_t cap = static_cast<uint32_t>(std::min<uint64_t>(table_cap, UINT32_MAX));
  const uint64_t shards = static_cast<uint64_t>(cfg->shards);
  const uint64_t per_shard = (cfg->max_conns + shards - 1) / shards;
  if (per_shard <= table_cap) return cap;
  const uint64_t fit = table_cap * shards;
  RC_WARN(-1,
          "--max-conns %u needs %llu connections per shard but the descriptor limit "
          "(RLIMIT_NOFILE %llu) caps a shard's table: serving %llu connections; raise "
          "LimitNOFILE or use more --shards",
          cfg->max_conns, static_cast<unsigned long long>(per_shard),
          static_cast<unsigned long long>(rl.rlim_cur), static_cast<unsigned long long>(fit));
  cfg->max_conns = static_cast<uint32_t>(std::min<uint64_t>(fit, UINT32_MAX));
  return cap;
}

// The long-poll cursor key: --cursor-key, else kept in --data-dir, else random for this run.
bool SetUpCursorKey(const Config& cfg, ServerShared* shared) {
  if (!cfg.cursor_key.empty()) {
    if (longpoll::ParseHexKey(cfg.cursor_key, &shared->cursor_key)) return true;
    RC_ERROR(-1, "--cursor-key: not 64 hex characters");
    return false;
  }
  if (!cfg.data_dir.empty()) {
    std::string err;
    if (!longpoll::LoadOrCreateCursorKey(cfg.data_dir, &shared->cursor_key, &err)) {
      RC_ERROR(-1, "cursor key in --data-dir %s: %s", cfg.data_dir.c_str(), err.c_str());
      return false;
    }
    RC_INFO(-1, "long-poll cursor key from %s/cursor.key", cfg.data_dir.c_str());
    return true;
  }
  shared->cursor_key = longpoll::RandomCursorKey();
  RC_INFO(-1,
          "long-poll cursor key is random for this run: cursors will not survive a "
          "restart (give --data-dir or --cursor-key to keep them)");
  return true;
}

// One thread per shard: each sets up its loop, waits until every shard has its ring (peers wake
// each other through them), then runs until drained. False when a shard could not start (the
// threads are joined by then).
bool StartShards(ServerShared* shared, std::vector<std::unique_ptr<Shard>>& shards,
                 std::vector<std::thread>* threads) {
  for (int i = 0; i < shared->shards; ++i) {
    threads->emplace_back([shared, &shards, i] {
      std::string err;
      Shard& sh = *shards[static_cast<size_t>(i)];
      if (sh.Init(&err) != 0) {
        RC_ERROR(i, "start failed: %s", err.c_str());
        shared->shards_failed.fetch_add(1);
        shared->shards_ready.fetch_add(1);
        return;
      }
      ShardMetrics::Set(shared->metrics[static_cast<size_t>(i)].heartbeat_ms, MonotonicMs());
      shared->shards_ready.fetch_add(1);
      while (shared->shards_ready.load() < shared->shards) std::this_thread::yield();
      if (shared->shards_failed.load() > 0) return;
      sh.Run();
      shared->shards_stopped.fetch_add(1, std::memory_order_release);
    });
  }
  while (shared->shards_ready.load() < shared->shards) usleep(1000);
  if (shared->shards_failed.load() == 0) return true;
  for (auto& t : *threads) t.join();
  RC_ERROR(-1, "roomcast did not start");
  return false;
}

// After the drain (every shard thread joined): frees what the mesh still holds, sums up.
void AfterDrain(ServerShared* shared, std::vector<std::unique_ptr<Shard>>& shards) {
  for (auto& sh : shards) sh->DiscardInFlight();
  uint64_t in = 0, out = 0;
  for (int i = 0; i < shared->shards; ++i) {
    in += shared->metrics[static_cast<size_t>(i)].messages_in_total.load();
    out += shared->metrics[static_cast<size_t>(i)].deliveries_total.load();
  }
  RC_INFO(-1, "roomcast stopped: %llu messages in, %llu deliveries",
          static_cast<unsigned long long>(in), static_cast<unsigned long long>(out));
}

}  // namespace

int RunServer(const Config& cfg_in, const ConfigLoader& load_config) {
  Notifier notifier_storage;
  Notifier* notifier = &notifier_storage;
  Config cfg = cfg_in;
  if (cfg.shards <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.shards = n > 0 ? static_cast<int>(n) : 1;
  }
  const sigset_t set = BlockStopSignals();
  const uint32_t table_cap = FitConnectionsToDescriptorLimit(&cfg);
  RC_INFO(-1, "roomcast %s starting: %s", kVersion, DescribeConfig(cfg).c_str());
  if (!PortIsFree(cfg) || !LockDataDir(cfg)) return 1;
  ServerShared shared(cfg, cfg.shards);
  shared.shard_table_cap = table_cap;
  if (!SetUpCursorKey(cfg, &shared) || !SetUpTokenKeys(cfg, &shared) ||
      !OpenAccessLog(cfg, &shared)) {
    return 1;
  }
  std::vector<std::unique_ptr<Shard>> shards;
  for (int i = 0; i < cfg.shards; ++i) shards.push_back(std::make_unique<Shard>(&shared, i));
  if (cfg.data_dir.empty() && cfg.redis.empty()) {
    RC_INFO(-1,
            "history is kept in memory only (no --data-dir): a restart loses it and every "
            "room starts a new epoch");
  } else if (!cfg.redis.empty() && cfg.data_dir.empty()) {
    RC_INFO(-1, "--redis: Redis holds the rooms' history; no local cache (no --data-dir)");
  } else if (!RestoreFromLog(cfg, shards, notifier)) {
    return 1;
  }
  std::vector<std::thread> threads;
  if (!StartShards(&shared, shards, &threads)) return 1;
  RC_INFO(-1, "listening on %s:%u with %d shards", cfg.listen_host.c_str(), cfg.listen_port,
          cfg.shards);
  notifier->Send("READY=1\nSTATUS=serving on " + cfg.listen_host + ":" +
                 std::to_string(cfg.listen_port) + " with " + std::to_string(cfg.shards) +
                 " shards\nMAINPID=" + std::to_string(getpid()));
  // Reloads compare with the settings as given (cfg has derived ones: shards, max-conns).
  Config configured = cfg_in;
  Supervise(cfg, set, {&shared, &shards, &threads}, notifier,
            [&] { ReloadConfig(&configured, load_config, &shared); });
  AfterDrain(&shared, shards);
  return 0;
}

}  // namespace roomcast::server
