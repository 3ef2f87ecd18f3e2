// The seam between a room's owner and where its events are kept: the durable segment log
// (GroupCommitLog), memory only (MemoryEventLog), and later a Redis broker. The owner sequences an
// event, appends it here, and sends every answer that must not get ahead of the event (its ack,
// its forwards) through SendAfterWritten. A log that defers makes the event visible to joins and
// polls only once written. Owner shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "mesh/messages.h"
#include "room/room_owner.h"

namespace roomcast::owner {

// Where the owner's messages go: the mesh in the server, a recorder in unit tests.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void Send(int shard, mesh::Message&& msg) = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // False once nothing more can be written: the owner refuses what would need it.
  [[nodiscard]] virtual bool Writable() const = 0;
  // True when events are shown only once written (Append then makes them visible later).
  [[nodiscard]] virtual bool Deferred() const = 0;
  // Room r's sequenced event m. user: the sender (a retraction: who did it); target: the seq a
  // retraction removes, else 0.
  virtual void Append(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
                      std::string_view cid, uint64_t target, int64_t ts_ms) = 0;
  // Room r's moderation act (a control record: seq 0, json = the act; owner/moderation.h) by
  // `actor` at ts_ms, replayed at start-up into the room's rules and audit log.
  virtual void AppendControl(room::OwnerRoom* r, std::string_view actor, std::string_view json,
                             int64_t ts_ms) = 0;
  // --redis: room r's event m as Redis numbered it (a retract event hides `target`), kept in
  // the node's local cache of the rooms' copies (--data-dir; CacheLog). Logs without a cache
  // ignore it.
  virtual void AppendCopy(room::OwnerRoom* r, const room::SequencedMsg& m, uint64_t target) {
    (void)r, (void)m, (void)target;
  }
  // --redis: room r's copy was forgotten (Redis disagreed with it) and starts over in r's epoch.
  virtual void AppendCopyReset(room::OwnerRoom* r) { (void)r; }
  // `hook` runs just before the log starts a new segment, so that what it appends lands in the
  // new segment (the owner re-appends its moderation state: old segments are deleted by
  // retention, and their control records with them). Logs without segments never call it.
  virtual void SetRollHook(std::function<void()> hook) { (void)hook; }
  // Sends msg to shard `to` once every event appended so far is written (at once if none waits).
  virtual void SendAfterWritten(int to, mesh::Message&& msg) = 0;
};

// No log (no --data-dir): events are shown at once and nothing waits.
class MemoryEventLog final : public EventLog {
 public:
  explicit MemoryEventLog(Outbox* out) : out_(out) {}
  bool Writable() const override { return true; }
  bool Deferred() const override { return false; }
  void Append(room::OwnerRoom*, const room::SequencedMsg&, std::string_view, std::string_view,
              uint64_t, int64_t) override {}
  void AppendControl(room::OwnerRoom*, std::string_view, std::string_view, int64_t) override {}
  void SendAfterWritten(int to, mesh::Message&& msg) override { out_->Send(to, std::move(msg)); }

 private:
  Outbox* out_;
};

}  // namespace roomcast::owner
