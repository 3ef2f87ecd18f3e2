#include "owner/group_commit_log.h"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace roomcast::owner {

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

void Add(std::atomic<uint64_t>* c, uint64_t n) {
  c->store(c->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

GroupCommitLog::GroupCommitLog(int shard, io::Loop* loop, Outbox* out, LogCounters counters)
    : shard_(shard), loop_(loop), out_(out), counters_(counters) {}

int GroupCommitLog::Open(const store::LogOptions& o, uint32_t fsync_interval_ms,
                         store::RecoveryReport* rep, std::string* error) {
  fsync_ = o.fsync;
  fsync_interval_ms_ = fsync_interval_ms;
  return log_.Open(o, rep, error);
}

void GroupCommitLog::Append(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
                            std::string_view cid, uint64_t target, int64_t ts_ms) {
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
  AppendRecord(rec);
  pending_.visible.emplace_back(r, m.seq);
}

void GroupCommitLog::AppendRecord(const store::Record& rec) {
  if (!store::RecordFits(rec)) {  // the fronts' limits make this unreachable
    RC_ERROR(shard_, "event of room %.*s seq %llu is too large for the log: not logged",
             static_cast<int>(rec.room.size()), rec.room.data(),
             static_cast<unsigned long long>(rec.seq));
    return;
  }
  log_.Append(rec);
  Add(counters_.records, 1);
}

void GroupCommitLog::AppendControl(room::OwnerRoom* r, std::string_view actor,
                                   std::string_view json, int64_t ts_ms) {
  store::Record rec;
  rec.ts_ms = ts_ms;
  rec.flags = store::kRecControl;
  rec.room = r->Name();
  rec.epoch = r->Epoch();
  rec.user = actor;
  rec.json = json;
  if (!store::RecordFits(rec)) {  // the parsers' limits make this unreachable
    RC_ERROR(shard_, "moderation record of room %s is too large for the log: not logged",
             r->Name().c_str());
    return;
  }
  log_.Append(rec);
  Add(counters_.records, 1);
}

void GroupCommitLog::SendAfterWritten(int to, mesh::Message&& msg) {
  // A control record makes no event visible, but what answers it must still wait for it.
  if (pending_.Empty() && !busy_ && !log_.HasPending()) return out_->Send(to, std::move(msg));
  pending_.held.emplace_back(to, std::move(msg));
}

uint32_t GroupCommitLog::StartWrite(uint64_t now_ms) {
  if (log_.Broken()) return UINT32_MAX;
  StartGroupCommit();
  // After the write's Take, which may have rolled (and closed) the segment: an SQE prepared
  // before it would name a closed descriptor when the loop submits it. A roll syncs the segment
  // it closes, so syncing the active one covers everything.
  if (fsync_ == store::FsyncPolicy::kInterval && unsynced_ && !sync_busy_ &&
      now_ms >= next_sync_ms_ && log_.ActiveFd() >= 0 && !log_.Broken()) {
    loop_->SubmitFileSync(log_.ActiveFd(), kTokIntervalSync);
    sync_busy_ = true;
    unsynced_ = false;
    next_sync_ms_ = now_ms + fsync_interval_ms_;
  }
  if (unsynced_ && !sync_busy_ && !log_.Broken()) {
    return next_sync_ms_ > now_ms ? static_cast<uint32_t>(next_sync_ms_ - now_ms) : 0;
  }
  return UINT32_MAX;
}

void GroupCommitLog::StartGroupCommit() {
  if (busy_) return;
  if (!log_.HasPending()) {
    // Acks of resends whose originals are written by now: nothing new to wait for.
    if (!pending_.Empty()) {
      inflight_ = std::exchange(pending_, Group{});
      Release();
    }
    return;
  }
  // A roll is coming: what the hook appends goes into the new segment with this batch.
  if (roll_hook_ && log_.WillRoll()) roll_hook_();
  batch_ = log_.Take();
  if (batch_.fd < 0) return;  // cannot happen: not busy and not broken
  inflight_ = std::exchange(pending_, Group{});
  written_ = 0;
  busy_ = true;
  started_us_ = MonoUs();
  Add(counters_.writes, 1);
  Add(counters_.bytes, batch_.bytes.size());
  loop_->SubmitFileWrite(batch_.fd, batch_.bytes.data(), static_cast<uint32_t>(batch_.bytes.size()),
                         batch_.offset, kTokWrite);
}

void GroupCommitLog::OnFileDone(uint32_t token, int res) {
  if (log_.Broken()) {  // after a failure: what was in flight no longer matters
    if (token == kTokIntervalSync) sync_busy_ = false;
    return;
  }
  switch (token) {
    case kTokWrite:
      if (res <= 0) return Failed("write", res == 0 ? -EIO : res);
      written_ += static_cast<uint32_t>(res);
      if (written_ < batch_.bytes.size()) {  // short write: the rest
        loop_->SubmitFileWrite(batch_.fd, batch_.bytes.data() + written_,
                               static_cast<uint32_t>(batch_.bytes.size() - written_),
                               batch_.offset + written_, kTokWrite);
        return;
      }
      if (fsync_ == store::FsyncPolicy::kBatch) {
        loop_->SubmitFileSync(batch_.fd, kTokBatchSync);
        return;
      }
      Release();
      return;
    case kTokBatchSync:
      if (res < 0) return Failed("fdatasync", res);
      Add(counters_.fsyncs, 1);
      Release();
      return;
    case kTokIntervalSync:
      sync_busy_ = false;
      if (res < 0) return Failed("fdatasync", res);
      Add(counters_.fsyncs, 1);
      return;
    default:
      RC_ERROR(shard_, "file completion with unknown token %u", token);
  }
}

void GroupCommitLog::Release() {
  if (busy_) {
    log_.Committed(UnixMsNow());
    const uint64_t us = MonoUs() - started_us_;
    counters_.commit_us->Observe(us);
    if (us > counters_.commit_us_max->load(std::memory_order_relaxed)) {
      counters_.commit_us_max->store(us, std::memory_order_relaxed);
    }
    busy_ = false;
    unsynced_ = fsync_ == store::FsyncPolicy::kInterval;
    batch_ = store::SegmentLog::Batch{};
  }
  for (auto& [room, seq] : inflight_.visible) room->MakeVisible(seq);
  for (auto& [to, msg] : inflight_.held) out_->Send(to, std::move(msg));
  inflight_ = Group{};
}

void GroupCommitLog::Failed(const char* what, int res) {
  if (!log_.Broken()) {
    log_.Failed(res);
    if (!cache_) counters_.broken_logs->fetch_add(1, std::memory_order_relaxed);
  }
  Add(counters_.write_errors, 1);
  RC_ERROR(shard_, "%s %s failed: %s (%s): %s", cache_ ? "local cache" : "durable log", what,
           std::strerror(-res), log_.LastError().c_str(),
           cache_ ? "this shard caches nothing more (Redis still holds every room)"
                  : "this shard refuses publishes from now on");
  busy_ = false;
  unsynced_ = false;  // nothing will be synced any more: the loop must not wait for it
  // The events not written are never shown: their senders get a refusal instead of an ack.
  for (Group* g : {&inflight_, &pending_}) {
    for (auto& [to, msg] : g->held) {
      if (auto* ack = std::get_if<mesh::AckReply>(&msg)) {
        ack->refusal = chat::Refusal::kLogFailed;
        ack->duplicate = false;
        out_->Send(to, std::move(msg));
      }
    }
    *g = Group{};
  }
}

void GroupCommitLog::Close() {
  if (busy_ && !log_.Broken()) {
    // The last group commit may or may not have landed: writing the same bytes at the same
    // offset again is harmless either way.
    size_t done = 0;
    while (done < batch_.bytes.size()) {
      const ssize_t n = pwrite(batch_.fd, batch_.bytes.data() + done, batch_.bytes.size() - done,
                               static_cast<off_t>(batch_.offset + done));
      if (n <= 0) {
        RC_ERROR(shard_, "durable log: final write failed: %s", std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (done == batch_.bytes.size()) log_.Committed(UnixMsNow());
    busy_ = false;
  }
  if (!log_.Broken()) {
    std::string err;
    if (log_.FlushSync(&err) != 0) {
      RC_ERROR(shard_, "durable log: final flush failed: %s", err.c_str());
    }
  }
  inflight_ = Group{};
  pending_ = Group{};
}

}  // namespace roomcast::owner
