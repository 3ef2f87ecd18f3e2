// Wiring of the durable log (with --data-dir): the shard's GroupCommitLog becomes its owner's
// EventLog, and the loop's file completions go to it. Replay itself is OwnerService's.
#include "shard.h"

namespace roomcast::server {

namespace {

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

std::string CacheDir(const Config& cfg) { return cfg.data_dir + "/cache"; }

int Shard::OpenLog(store::RecoveryReport* rep, std::string* error) {
  store::LogOptions o;
  const bool cache = !cfg_.redis.empty();
  o.data_dir = cache ? CacheDir(cfg_) : cfg_.data_dir;
  o.shard = id_;
  o.segment_bytes = static_cast<uint64_t>(cfg_.segment_mb) << 20;
  o.retain_bytes = static_cast<uint64_t>(cfg_.retain_mb) << 20;
  o.retain_secs = static_cast<uint64_t>(cfg_.retain_hours) * 3600;
  o.fsync = PolicyOf(cfg_.fsync);
  auto log = std::make_unique<owner::GroupCommitLog>(
      id_, &loop_, &outbox_,
      owner::LogCounters{&metrics_.log_records_total, &metrics_.log_bytes_total,
                         &metrics_.log_writes_total, &metrics_.log_fsyncs_total,
                         &metrics_.log_write_errors_total, &metrics_.log_commit_us,
                         &metrics_.log_commit_us_max, &shared_->logs_broken});
  const int rc = log->Open(o, cfg_.fsync_interval_ms, rep, error);
  if (rc != 0) return rc;
  durable_log_ = std::move(log);
  if (cache) {
    cache_log_ = std::make_unique<owner::CacheLog>(durable_log_.get(), &outbox_);
    owner_.UseLog(cache_log_.get());
  } else {
    owner_.UseLog(durable_log_.get());
  }
  return 0;
}

void Shard::OnFileDone(uint32_t token, int res) {
  if (durable_log_) durable_log_->OnFileDone(token, res);
}

}  // namespace roomcast::server
