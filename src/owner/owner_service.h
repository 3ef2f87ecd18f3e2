// OwnerService: the owner side of the rooms one shard owns (room::OwnerShardOf). Publish,
// retract, join and leave arrive as typed mesh messages and are decided here, in one place per
// room, without locks: seq, history, idempotent resends, visibility. Answers and forwards go out
// through the EventLog (after the event is written) or the Outbox. Knows nothing of sockets,
// frames or HTTP; driven by plain calls in unit tests. Owner shard thread only (the Restore*
// calls: the main thread, before the shards run).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/shard_metrics.h"
#include "mesh/messages.h"
#include "owner/event_log.h"
#include "owner/moderation.h"
#include "owner/moderator.h"
#include "owner/pulse.h"
#include "owner/room_sequencing.h"
#include "room/dedup_window.h"
#include "room/room_owner.h"
#include "store/segment_log.h"

namespace roomcast::owner {

struct OwnerOptions {
  int shards = 1;
  size_t history = 1000;
  size_t max_rooms = 100000;
  size_t prio_history = 100;
  size_t max_history_request = 1000;
  uint64_t dedup_ms = 300000;
  size_t dedup_max = 100000;
  room::ModPolicy mod_policy;  // --rate-limit, --mod-rate-limit, --unique-window-secs
  PulseOptions pulse;          // reactions and presence state
  bool presence = true;        // --presence: distinct viewers and room stats (room_stats.h)
  room::HotPolicy hot;         // --hot-msgs-per-sec, --max-visible-rate, --hot-cool-down-secs
};

// Counters another thread may read (/metrics), owned by the caller (the server points them at
// its per-shard metrics): written by the owner's thread only, relaxed.
struct OwnerCounters {
  std::atomic<uint64_t>* sequenced;     // messages sequenced here
  std::atomic<uint64_t>* prio;          // ...of them priority messages
  std::atomic<uint64_t>* deduplicated;  // resends answered with the first ack
  std::atomic<uint64_t>* retractions;
  std::atomic<uint64_t>* refused;    // sends refused by moderation (bans, modes, rate limits)
  std::atomic<uint64_t>* reactions;  // reactions counted
  std::atomic<uint64_t>* reactions_refused;  // ...refused by --react-rate-limit
  static void Add(std::atomic<uint64_t>* c, uint64_t n) {
    c->store(c->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// The refusal a retraction's status gets (kOk: none).
[[nodiscard]] chat::Refusal RetractRefusal(room::OwnerRoom::RetractStatus st);

class OwnerService {
 public:
  // `log` may be replaced with UseLog before the shard runs (a durable one, after it is opened).
  OwnerService(int shard, const OwnerOptions& opt, EventLog* log, Outbox* out,
               OwnerCounters counters);
  OwnerService(const OwnerService&) = delete;
  OwnerService& operator=(const OwnerService&) = delete;
  // The new log checkpoints the moderation state before each of its segments (Moderator).
  void UseLog(EventLog* log) {
    log_ = log;
    log_->SetRollHook([this] { moderator_.CheckpointModeration(); });
  }
  void CheckpointModeration() { moderator_.CheckpointModeration(); }
  // --redis: who numbers messages from now on (before the shard runs); nullptr: the owner.
  void UseSequencing(RoomSequencing* s) { sequencing_ = s; }
  // --redis: the fleet's counts of the room as Redis summed them (owner_fleet.cc): the viewers
  // the other nodes count, and the distinct viewers. A changed count sends a presence `state`.
  void SetFleetCounts(room::OwnerRoom* r, uint64_t others_online, uint64_t unique_5m,
                      uint64_t unique_total);
  // --redis: a message Redis numbered, in seq order: kept in the room's copy and forwarded to
  // the shards with viewers. A retract event hides retract_target; a clear what came before it.
  void Deliver(room::OwnerRoom* r, room::SequencedMsg&& m, uint64_t retract_target = 0,
               bool clear = false);
  // --redis: Redis disagrees with the room's copy (another epoch, a lower seq, another last
  // event): the copy is forgotten (and so is what the local cache holds of it); it starts over
  // in `epoch`.
  void ResetCopy(room::OwnerRoom* r, std::string epoch) {
    r->ResetEpoch(std::move(epoch));
    log_->AppendCopyReset(r);
  }
  // --redis: the room's rules as Redis holds them (a HGETALL of its rules hash), and one change
  // told on its channel (op 's' set, 'd' removed); shared_moderator.cc.
  void ResetSharedRules(std::string_view room,
                        const std::vector<std::pair<std::string, std::string>>& fields) {
    moderator_.ResetSharedRules(room, fields);
  }
  void ApplySharedRule(std::string_view room, char op, std::string_view field,
                       std::string_view value) {
    moderator_.ApplySharedRule(room, op, field, value);
  }
  // --redis: a send the publish script refused (a ban, the rate limit, slow mode) or took as a
  // shadow-banned user's: counted with the owner's own refusals.
  void NoteRefused() { OwnerCounters::Add(counters_.refused, 1); }
  // The rate limits in force (--rate-limit, --mod-rate-limit).
  [[nodiscard]] const room::ModPolicy& Policy() { return moderator_.Rules().Policy(); }

  // A message from shard `from` to sequence: answered with an AckReply to `from` (after the
  // event is written), forwarded once to every shard with viewers. now_mono_ms: CLOCK_MONOTONIC.
  void OnPublish(int from, mesh::PublishReq& req, uint64_t now_mono_ms);
  // An admin retraction: answered with an AckReply (target set) or a refusal.
  void OnRetract(int from, mesh::RetractReq& req, uint64_t now_mono_ms);
  // A moderation act (Moderator): answered with an AckReply whose `op` is set.
  void OnModerate(int from, mesh::ModerateReq& req, uint64_t now_mono_ms);
  // About once a second (Unix ms, and the CLOCK_MONOTONIC ms OnPublish gets): ended timeouts
  // and idle rate windows are dropped; hot rooms turn automatic slow mode on or off and send
  // their `sampled` markers (owner_hot.cc).
  void OnSecond(int64_t now_unix_ms, uint64_t now_mono_ms) {
    moderator_.OnSecond(now_unix_ms);
    CheckHotRooms(now_unix_ms, now_mono_ms);
  }
  // SIGHUP: new rate limits and unique-chat window, from the next message on.
  void SetModPolicy(const room::ModPolicy& p) {
    moderator_.Rules().SetPolicy(p);
    pulse_.SetReactRate(p.react_rate);
  }
  // A reaction: counted in the room's window (Pulse), or refused with an AckReply.
  void OnReact(int from, mesh::ReactReq& req, uint64_t now_mono_ms);
  // Every loop turn (CLOCK_MONOTONIC ms): sends the reactions windows and presence states due.
  void OnTurn(uint64_t now_mono_ms);
  // When OnTurn next has something to send (UINT64_MAX: nothing pending).
  [[nodiscard]] uint64_t NextDueMs() const { return pulse_.NextDueMs(); }
  // The room's presence `state` object now: online count, distinct viewers (unique_5m, with
  // --presence) and modes.
  [[nodiscard]] std::string StateJson(room::OwnerRoom& r);
  // A viewer joins (or a long-poll asks what follows its cursor): answered with a JoinReply.
  // now_mono_ms: CLOCK_MONOTONIC (the distinct-viewer window).
  void OnJoin(int from, mesh::JoinReq& req, uint64_t now_mono_ms = 0);
  void OnLeave(int from, const mesh::LeaveReq& req);
  // A page of history (seq order): answered with a HistoryReply, at once.
  void OnHistory(int from, mesh::HistoryReq& req);
  // GET /admin/rooms/R and /admin/rooms?top=N (room_report.cc): answered with a RoomStatsReply.
  void OnRoomStats(int from, const mesh::RoomStatsReq& req, uint64_t now_mono_ms);
  // A viewer shard's fan-out lag for the rooms it serves (room_report.cc).
  void OnLagReport(int from, const mesh::LagReport& rep, uint64_t now_mono_ms);
  // This shard's top rooms by online, for /metrics (room_report.cc).
  [[nodiscard]] std::vector<TopRoom> TopRooms(size_t n, uint64_t now_mono_ms);

  // Start-up replay (owner_restore.cc), in log order: every record, each damaged range met, then
  // EndRestore once. Returns the rooms owned.
  void RestoreEvent(const store::Record& rec);
  void RestoreDamage(uint64_t max_records);
  size_t EndRestore();

  // --redis with --data-dir: the start-up replay of the local cache (CacheLog; owner_cache.cc),
  // in log order, then EndRestoreCopies once. Returns the rooms whose copies came back.
  void RestoreCopy(const store::Record& rec);
  size_t EndRestoreCopies();

  // True when this shard owns `room` (room::OwnerShardOf).
  [[nodiscard]] bool Owns(std::string_view room) const {
    return room::OwnerShardOf(room, opt_.shards) == shard_;
  }

  [[nodiscard]] size_t RoomCount() const { return rooms_.Count(); }
  room::OwnerRooms& Rooms() { return rooms_; }

 private:
  // A snapshot build's answer: the last rep.limit kept messages, seq order, and the count.
  void SendLatest(int from, const room::OwnerRoom& r, mesh::HistoryReply&& rep);
  // see_tags: for a message sampled out (flag room::kEvSampled set on the copy forwarded), the
  // users whose viewers still get it.
  void Forward(room::OwnerRoom* r, const room::SequencedMsg& m,
               std::vector<uint64_t> see_tags = {});
  // Hot rooms (owner_hot.cc). An ordinary message sequenced now: false when it is sampled out.
  bool NoteOrdinary(room::OwnerRoom* r, uint64_t mono_ms);
  void CheckHotRooms(int64_t now_unix_ms, uint64_t now_mono_ms);
  // Automatic slow mode on or off, or `hot` changed: the modes set, a `state` event sent and
  // logged, a control record written when the modes changed.
  void AnnounceHot(room::OwnerRoom* r, bool modes_change, int64_t now_unix_ms,
                   uint64_t now_mono_ms);
  // {"type":"sampled","room","shown","total"} to every shard with viewers of the room.
  void SendSampledMarker(room::OwnerRoom* r, uint32_t shown, uint32_t total);
  // EndRestore: rooms whose automatic slow mode was on are watched until they cool down.
  void ResumeAutoSlow();
  // Who automatic slow mode's acts are by (the audit, the control records).
  static constexpr std::string_view kAutoActor = "auto";
  // A `state` event's fields: ,"online":N,"modes":{...}[,"hot":true].
  std::string StateFields(room::OwnerRoom* r, const room::RoomModes& modes);
  // An unsequenced event to every shard with viewers of the room, at once.
  // online: a presence state's count (0 otherwise).
  void SendRoomEvent(const room::OwnerRoom& r, std::string_view type, std::string json,
                     uint64_t online = 0);
  void ReclaimIfEmpty(room::OwnerRoom* r);
  // One room's report object (GET /admin/rooms/R) with its sort keys.
  mesh::RoomStatsRow ReportOf(room::OwnerRoom& r, uint64_t now_mono_ms);
  static uint64_t UserTag(std::string_view user);
  // For Moderator (its acts retract and sequence like the owner does).
  friend class Moderator;
  chat::Refusal RetractOne(room::OwnerRoom* r, uint64_t target, std::string_view reason,
                           std::string_view by, int64_t ts_ms, uint64_t mono_ms, uint64_t* seq);
  // Sequences a message a moderator allowed; returns its seq.
  uint64_t SequenceAllowed(room::OwnerRoom* r, HeldMsg&& m, int64_t ts_ms, uint64_t mono_ms);

  int shard_;
  OwnerOptions opt_;
  EventLog* log_;
  Outbox* out_;
  RoomSequencing* sequencing_ = nullptr;
  OwnerCounters counters_;
  room::OwnerRooms rooms_;
  Moderator moderator_;
  Pulse pulse_;
  uint64_t now_ms_ = 0;  // the last OnTurn's clock (presence changes are timed by it)
  room::DedupWindow dedup_;
  // Rooms with ordinary messages lately, automatic slow mode or a sample to report: checked
  // once a second (CheckHotRooms), dropped once idle.
  std::unordered_set<std::string> hot_watch_;
  std::vector<uint64_t> mention_scratch_;
  // Which user each recent (room, cid) belongs to (as the user's hash + 1, in the window's seq
  // slot): a cid another user already used in the room gets a server id instead, so that ids
  // stay unique in a room and clients that de-duplicate on them never hide each other.
  room::DedupWindow cid_owners_;
  // Replay only.
  std::unordered_map<std::string, int64_t> restore_ts_;  // room -> newest record ts
  int64_t restore_now_ms_ = 0;                           // Unix ms when replay began
  std::vector<uint64_t> restore_damage_;                 // max records lost in each damaged range
  // once damage was met: room -> damaged ranges met before its newest record
  std::unordered_map<std::string, uint32_t> restore_damage_seen_;
  std::unordered_map<std::string, uint64_t> restore_clears_;  // cache: room -> newest clear
};

}  // namespace roomcast::owner
