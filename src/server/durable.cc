// The durable log on the owner side (with --data-dir): every event a shard sequences is appended
// to the shard's segment log, and the log is written once per loop turn (group commit) through
// io_uring. Until its write completes (and, with --fsync batch, its fdatasync), an event is
// invisible to joins and polls and its ack and forwards wait; so nothing a client was told about
// can be lost to a crash of the process. Start-up replay puts the log back into the rooms.
// Shard thread only, except OpenLog / RestoreEvent / EndRestore (main thread, before the shards
// run).
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mesh_items.h"
#include "roomcast/log.h"
#include "shard.h"

namespace roomcast::server {

namespace {

enum : uint32_t { kTokWrite = 1, kTokBatchSync = 2, kTokIntervalSync = 3 };

uint64_t UnixMsNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t MonoUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

store::FsyncPolicy PolicyOf(FsyncMode m) {
  switch (m) {
    case FsyncMode::kBatch:
      return store::FsyncPolicy::kBatch;
    case FsyncMode::kInterval:
      return store::FsyncPolicy::kInterval;
    case FsyncMode::kNever:
      return store::FsyncPolicy::kNever;
  }
  return store::FsyncPolicy::kInterval;
}

}  // namespace

int Shard::OpenLog(store::RecoveryReport* rep, std::string* error) {
  store::LogOptions o;
  o.data_dir = cfg_.data_dir;
  o.shard = id_;
  o.segment_bytes = static_cast<uint64_t>(cfg_.segment_mb) << 20;
  o.retain_bytes = static_cast<uint64_t>(cfg_.retain_mb) << 20;
  o.retain_secs = static_cast<uint64_t>(cfg_.retain_hours) * 3600;
  o.fsync = PolicyOf(cfg_.fsync);
  auto log = std::make_unique<store::SegmentLog>();
  const int rc = log->Open(o, rep, error);
  if (rc == 0) log_ = std::move(log);
  return rc;
}

void Shard::RestoreEvent(const store::Record& rec) {
  room::OwnerRoom* r = owned_.Find(rec.room);
  if (r && r->Epoch() != rec.epoch) {
    // A room whose history was lost once started a new epoch: the newer epoch wins.
    auto it = restore_ts_.find(std::string(rec.room));
    if (it != restore_ts_.end() && rec.ts_ms < it->second) return;
    owned_.Drop(rec.room);
    r = nullptr;
  }
  if (!r) {
    r = owned_.GetOrCreateWithEpoch(rec.room, rec.epoch);
    restore_ts_[std::string(rec.room)] = rec.ts_ms;
  }
  uint8_t flags = 0;
  if (rec.flags & store::kRecPrio) flags |= room::kEvPrio;
  if (rec.flags & store::kRecRetract) flags |= room::kEvRetract;
  r->Restore(rec.seq, rec.json, flags, rec.target);
  if (!restore_damage_.empty()) {
    restore_damage_seen_[std::string(rec.room)] = static_cast<uint32_t>(restore_damage_.size());
  }
  if (restore_now_ms_ == 0) restore_now_ms_ = static_cast<int64_t>(UnixMsNow());
  if (!rec.cid.empty() &&
      rec.ts_ms + static_cast<int64_t>(cfg_.dedup_secs) * 1000 >= restore_now_ms_) {
    dedup_.Preload(rec.room, rec.user, rec.cid, rec.seq, rec.ts_ms);
  }
}

void Shard::RestoreDamage(uint64_t max_records) { restore_damage_.push_back(max_records); }

size_t Shard::EndRestore() {
  // lost_after[i]: the events a room may have lost in damaged ranges i and later.
  std::vector<uint64_t> lost_after(restore_damage_.size() + 1, 0);
  for (size_t i = restore_damage_.size(); i-- > 0;) {
    lost_after[i] = lost_after[i + 1] + restore_damage_[i];
  }
  uint64_t marked = 0;
  owned_.ForEach([&](room::OwnerRoom& r) {
    // Seqs missing between kept events were lost (or cut by retention): a resume is told.
    r.FillHoles();
    if (restore_damage_.empty()) return;
    auto it = restore_damage_seen_.find(r.Name());
    const uint64_t lost = lost_after[it == restore_damage_seen_.end() ? 0 : it->second];
    if (lost == 0) return;
    // Its newest events may be in the damage: never hand out those seqs again in this epoch.
    const uint64_t from = r.LastSeq() + 1;
    r.MarkLost(from, from + lost - 1);
    ++marked;
  });
  if (marked) {
    RC_WARN(id_,
            "message log damage: %llu rooms whose newest events came before a damaged range "
            "skip up to %llu seqs each; resumes across them get a gap",
            static_cast<unsigned long long>(marked),
            static_cast<unsigned long long>(lost_after[0]));
  }
  std::vector<uint64_t>().swap(restore_damage_);
  std::unordered_map<std::string, uint32_t>().swap(restore_damage_seen_);
  std::unordered_map<std::string, int64_t>().swap(restore_ts_);
  dedup_.EndPreload();
  return owned_.Count();
}

void Shard::LogEvent(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
                     std::string_view cid, uint64_t target, int64_t ts_ms) {
  if (!log_) return;
  store::Record rec;
  rec.seq = m.seq;
  rec.target = target;
  rec.ts_ms = ts_ms;
  rec.flags = static_cast<uint8_t>((m.Prio() ? store::kRecPrio : 0) |
                                   (m.Retract() ? store::kRecRetract : 0));
  rec.room = r->Name();
  rec.epoch = r->Epoch();
  rec.user = user;
  rec.cid = cid;
  rec.json = m.json;
  if (!store::RecordFits(rec)) {  // the fronts' limits make this unreachable
    RC_ERROR(id_, "event of room %s seq %llu is too large for the log: not logged",
             r->Name().c_str(), static_cast<unsigned long long>(m.seq));
  } else {
    log_->Append(rec);
    ShardMetrics::Add(metrics_.log_records_total, 1);
  }
  log_pending_.visible.emplace_back(r, m.seq);
}

void Shard::SendAfterLog(int to, mesh::Item item) {
  if (!log_ || (log_pending_.Empty() && !log_busy_)) {
    mesh_.Send(to, item);
    return;
  }
  log_pending_.items.emplace_back(to, item);
}

void Shard::StartLogWrite(uint64_t now_ms) {
  if (!log_ || log_->Broken()) return;
  StartGroupCommit();
  // After the write's Take, which may have rolled (and closed) the segment: an SQE prepared
  // before it would name a closed descriptor when the loop submits it. A roll syncs the segment
  // it closes, so syncing the active one covers everything.
  if (cfg_.fsync == FsyncMode::kInterval && log_unsynced_ && !log_sync_busy_ &&
      now_ms >= log_next_sync_ms_ && log_->ActiveFd() >= 0 && !log_->Broken()) {
    loop_.SubmitFileSync(log_->ActiveFd(), kTokIntervalSync);
    log_sync_busy_ = true;
    log_unsynced_ = false;
    log_next_sync_ms_ = now_ms + cfg_.fsync_interval_ms;
  }
}

void Shard::StartGroupCommit() {
  if (log_busy_) return;
  if (!log_->HasPending()) {
    // Acks of resends whose originals are written by now: nothing new to wait for.
    if (!log_pending_.Empty()) {
      log_inflight_ = std::move(log_pending_);
      log_pending_ = LogGroup{};
      ReleaseLogGroup();
    }
    return;
  }
  log_batch_ = log_->Take();
  if (log_batch_.fd < 0) return;  // cannot happen: not busy and not broken
  log_inflight_ = std::move(log_pending_);
  log_pending_ = LogGroup{};
  log_written_ = 0;
  log_busy_ = true;
  log_started_us_ = MonoUs();
  ShardMetrics::Add(metrics_.log_writes_total, 1);
  ShardMetrics::Add(metrics_.log_bytes_total, log_batch_.bytes.size());
  loop_.SubmitFileWrite(log_batch_.fd, log_batch_.bytes.data(),
                        static_cast<uint32_t>(log_batch_.bytes.size()), log_batch_.offset,
                        kTokWrite);
}

void Shard::OnFileDone(uint32_t token, int res) {
  if (!log_) return;
  if (log_->Broken()) {  // after a failure: what was in flight no longer matters
    if (token == kTokIntervalSync) log_sync_busy_ = false;
    return;
  }
  switch (token) {
    case kTokWrite:
      if (res <= 0) return LogFailed("write", res == 0 ? -EIO : res);
      log_written_ += static_cast<uint32_t>(res);
      if (log_written_ < log_batch_.bytes.size()) {  // short write: the rest
        loop_.SubmitFileWrite(log_batch_.fd, log_batch_.bytes.data() + log_written_,
                              static_cast<uint32_t>(log_batch_.bytes.size() - log_written_),
                              log_batch_.offset + log_written_, kTokWrite);
        return;
      }
      if (cfg_.fsync == FsyncMode::kBatch) {
        loop_.SubmitFileSync(log_batch_.fd, kTokBatchSync);
        return;
      }
      ReleaseLogGroup();
      return;
    case kTokBatchSync:
      if (res < 0) return LogFailed("fdatasync", res);
      ShardMetrics::Add(metrics_.log_fsyncs_total, 1);
      ReleaseLogGroup();
      return;
    case kTokIntervalSync:
      log_sync_busy_ = false;
      if (res < 0) return LogFailed("fdatasync", res);
      ShardMetrics::Add(metrics_.log_fsyncs_total, 1);
      return;
    default:
      RC_ERROR(id_, "file completion with unknown token %u", token);
  }
}

void Shard::ReleaseLogGroup() {
  if (log_busy_) {
    log_->Committed(UnixMsNow());
    const uint64_t us = MonoUs() - log_started_us_;
    ShardMetrics::Add(metrics_.log_commit_us_sum, us);
    if (us > metrics_.log_commit_us_max.load(std::memory_order_relaxed)) {
      ShardMetrics::Set(metrics_.log_commit_us_max, us);
    }
    log_busy_ = false;
    log_unsynced_ = cfg_.fsync == FsyncMode::kInterval;
    log_batch_ = store::SegmentLog::Batch{};
  }
  for (auto& [room, seq] : log_inflight_.visible) room->MakeVisible(seq);
  for (auto& [to, item] : log_inflight_.items) mesh_.Send(to, item);
  log_inflight_ = LogGroup{};
}

void Shard::LogFailed(const char* what, int res) {
  if (!log_->Broken()) {
    log_->Failed(res);
    shared_->logs_broken.fetch_add(1, std::memory_order_relaxed);
  }
  ShardMetrics::Add(metrics_.log_write_errors_total, 1);
  RC_ERROR(id_, "durable log %s failed: %s (%s): this shard refuses publishes from now on", what,
           std::strerror(-res), log_->LastError().c_str());
  log_busy_ = false;
  log_unsynced_ = false;  // nothing will be synced any more: the loop must not wait for it
  // The events not written are never shown: their senders get an error instead of an ack.
  for (LogGroup* g : {&log_inflight_, &log_pending_}) {
    for (auto& [to, item] : g->items) {
      if (item.kind == kItemAck) {
        auto* ack = static_cast<AckReply*>(item.ptr);
        ack->error = "log_failed";
        ack->duplicate = false;
        mesh_.Send(to, item);
      } else {
        FreeItem(item);
      }
    }
    *g = LogGroup{};
  }
}

void Shard::CloseLog() {
  if (!log_) return;
  if (log_busy_ && !log_->Broken()) {
    // The last group commit may or may not have landed: writing the same bytes at the same
    // offset again is harmless either way.
    size_t done = 0;
    while (done < log_batch_.bytes.size()) {
      const ssize_t n = pwrite(log_batch_.fd, log_batch_.bytes.data() + done,
                               log_batch_.bytes.size() - done,
                               static_cast<off_t>(log_batch_.offset + done));
      if (n <= 0) {
        RC_ERROR(id_, "durable log: final write failed: %s", std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (done == log_batch_.bytes.size()) log_->Committed(UnixMsNow());
    log_busy_ = false;
  }
  if (!log_->Broken()) {
    std::string err;
    if (log_->FlushSync(&err) != 0) RC_ERROR(id_, "durable log: final flush failed: %s", err.c_str());
  }
  for (LogGroup* g : {&log_inflight_, &log_pending_}) {
    for (auto& [to, item] : g->items) FreeItem(item);
    *g = LogGroup{};
  }
}

}  // namespace roomcast::server
