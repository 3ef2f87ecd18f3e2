// CacheLog: the EventLog of a node with --redis and --data-dir. Redis numbers and holds every
// room's history; this node keeps what Redis delivered to its copies (OwnerService::Deliver) in
// a segment log of its own, under <data-dir>/cache, as a local cache: replayed into the copies
// at start-up (OwnerService::RestoreCopy) so that a restarted node reads from the streams only
// what came after, and never trusted over Redis (docs/cluster.md, "--data-dir with --redis").
// Nothing waits for its writes (the events are already durable in Redis), its failure refuses
// nothing, and the owner's own sequencing and control records (unused with --redis) are not
// kept. Owner shard thread only.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "owner/event_log.h"
#include "owner/group_commit_log.h"

namespace roomcast::owner {

class CacheLog final : public EventLog {
 public:
  // `log`: opened on <data-dir>/cache, driven by the shard's loop (StartWrite, OnFileDone).
  CacheLog(GroupCommitLog* log, Outbox* out) : log_(log), out_(out) { log_->ServeAsCache(); }

  bool Writable() const override { return true; }
  bool Deferred() const override { return false; }
  void Append(room::OwnerRoom*, const room::SequencedMsg&, std::string_view, std::string_view,
              uint64_t, int64_t) override {}
  void AppendControl(room::OwnerRoom*, std::string_view, std::string_view, int64_t) override {}
  void AppendCopy(room::OwnerRoom* r, const room::SequencedMsg& m, uint64_t target) override;
  // A control record (the only kind a cache writes): what came before it is not replayed.
  void AppendCopyReset(room::OwnerRoom* r) override;
  void SendAfterWritten(int to, mesh::Message&& msg) override { out_->Send(to, std::move(msg)); }

 private:
  GroupCommitLog* log_;
  Outbox* out_;
};

}  // namespace roomcast::owner
