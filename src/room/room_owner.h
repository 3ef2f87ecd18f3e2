// The owner side of rooms: the one place where a room's messages are ordered.
//
// Each room has exactly one owner shard (OwnerShardOf). There the room's seq is assigned, its
// recent history kept and its viewers counted per shard, so that a sequenced message is forwarded
// only to the shards that have viewers. No locks: only the owner shard's thread touches its
// OwnerRooms. Knows nothing of sockets, frames or files: events are JSON text.
//
// A room's events are messages and retractions, each with its own seq. Priority events (`prio`
// messages and every retraction) are also kept in a separate, longer-lived list: a join or
// resume gets them before ordinary messages, and they outlive ordinary history.
//
// Visibility: with a durable log an event is sequenced at once but shown (to joins, resumes and
// polls) only once it is written; MakeVisible moves that line. Without one, Sequence shows it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "room/hot_room.h"
#include "room/room_stats.h"

namespace roomcast::room {

// The shard that owns a room (FNV-1a of the id, modulo the shard count).
[[nodiscard]] int OwnerShardOf(std::string_view room, int shards);

enum EventFlags : uint8_t {
  kEvPrio = 1,     // the priority lane: never dropped, sent first, replayed first
  kEvRetract = 2,  // a {"type":"retract"} object (always prio too)
  kEvHidden = 4,   // a retracted message: kept as a placeholder, never served
  // Seqs lost to a damaged log: one placeholder at the last of them whose json is the gap
  // object that names them all ({"type":"gap","room","from","to"}); served in their place by
  // resumes, skipped by history=N joins.
  kEvLost = 8,
  // Sampled out of a hot room's live stream (HotRoom): set on the forwarded copy only (history
  // keeps the message as is), so that a viewer shard shows it only to the sender's and the
  // mentioned users' viewers.
  kEvSampled = 16,
};

// A sequenced event as it travels to viewers: its seq and its JSON object text.
struct SequencedMsg {
  uint64_t seq = 0;
  std::string json;
  uint64_t sequenced_ms = 0;  // CLOCK_MONOTONIC ms when the owner sequenced it (for lag metrics)
  uint8_t flags = 0;
  uint64_t lost_from = 0;  // kEvLost: the first seq the placeholder stands for (seq is the last)
  // A message's sender (UserTag of its user id) and receive time (Unix ms), in the owner's
  // history only (a ban retracts the user's recent messages); 0 elsewhere.
  uint64_t user_tag = 0;
  int64_t ts_ms = 0;
  [[nodiscard]] bool Prio() const { return (flags & kEvPrio) != 0; }
  [[nodiscard]] bool Retract() const { return (flags & kEvRetract) != 0; }
  [[nodiscard]] bool Lost() const { return (flags & kEvLost) != 0; }
  [[nodiscard]] bool Sampled() const { return (flags & kEvSampled) != 0; }
};

// A user id's tag in the owner's history (FNV-1a, never 0).
[[nodiscard]] uint64_t UserTag(std::string_view user);

// {"type":"gap","room":R,"from":F,"to":T} and, with new_epoch, "epoch" and "reset":true.
[[nodiscard]] std::string GapJson(std::string_view room, uint64_t from, uint64_t to,
                                  std::string_view new_epoch = {});

struct PublishInput {
  std::string_view room;
  std::string_view user;
  std::string_view text;
  std::string_view cid;  // may be empty: the owner makes an id
  int64_t ts_ms = 0;     // server receive time (Unix ms)
  uint64_t mono_ms = 0;  // the owner's CLOCK_MONOTONIC ms now
  bool prio = false;
  std::string_view kind;         // e.g. "gift", "pin", "system"; empty: none
  bool cid_taken = false;        // another user used this cid in the room: the owner makes an id
  std::string_view name;         // display name; empty: none
  std::string_view badges_json;  // a JSON array of strings; empty: none
  uint8_t roles = 0;             // auth::RoleSet in this room: the highest goes in as "role"
  // --redis: not checked against the bans, slow mode and rate limit kept in Redis (an admin's
  // send, a held message a moderator allowed).
  bool ungated = false;
};

class OwnerRoom {
 public:
  OwnerRoom(std::string name, std::string epoch, size_t history_cap, int shards,
            size_t prio_cap = 100);

  const std::string& Name() const { return name_; }
  const std::string& Epoch() const { return epoch_; }
  // The last seq shown to joins and polls (see Visibility above).
  uint64_t HeadSeq() const { return visible_; }
  // The last seq assigned (written or not).
  uint64_t LastSeq() const { return seq_; }
  uint64_t Online() const { return online_; }
  // --redis: the viewers the other nodes counted (their last reports, docs/cluster.md); what
  // viewers and operators are told is FleetOnline. 0 on a lone node.
  void SetOthersOnline(uint64_t n) { others_online_ = n; }
  uint64_t FleetOnline() const { return online_ + others_online_; }
  // Priority events kept now.
  size_t PrioKept() const { return prio_.size(); }

  // The message id: the client's cid when given, else one made from the epoch and seq.
  [[nodiscard]] std::string MessageId(std::string_view cid, uint64_t seq) const;

  // The message object of `in` as it would be at `seq` (a shadow-banned user's echo).
  [[nodiscard]] std::string RenderMessage(const PublishInput& in, uint64_t seq) const;
  // Assigns the next seq and builds the message JSON once; appends it to history. With
  // `visible` false it is shown only after MakeVisible.
  const SequencedMsg& Sequence(const PublishInput& in, bool visible = true);

  // Retracts message `target`: hides it from history and the priority list, and sequences a
  // retract event {"type":"retract","room","seq":target,"at":SEQ,"reason","ts"} (who did it is
  // the caller's to record). Only a message still kept (in history or the priority list) can be
  // retracted: of an older one the room no longer knows what it was (kGone).
  enum class RetractStatus { kOk, kNotFound, kAlreadyRetracted, kNotAMessage, kGone };
  RetractStatus Retract(uint64_t target, std::string_view reason, int64_t ts_ms, uint64_t mono_ms,
                        bool visible, const SequencedMsg** out);
  // What Retract would answer, changing nothing (--redis: checked before Redis numbers it).
  [[nodiscard]] RetractStatus CheckRetract(uint64_t target) const;
  // The retract event's object for target, numbered `at`.
  [[nodiscard]] std::string RetractJson(uint64_t target, uint64_t at, std::string_view reason,
                                        int64_t ts_ms) const;

  // A room event that is not a message (moderation: {"type":"state"} after a mode change,
  // {"type":"clear"}): {"type":T,"room":R,"seq":S<fields>,"ts":ts}, on the priority lane.
  // `fields` is "" or JSON members each starting with a comma.
  // Its object at `seq`: {"type","room","seq"<fields>,"ts"} (fields: ,"name":value...).
  [[nodiscard]] std::string EventJson(std::string_view type, std::string_view fields, uint64_t seq,
                                      int64_t ts_ms) const;
  const SequencedMsg& SequenceEvent(std::string_view type, std::string_view fields, int64_t ts_ms,
                                    uint64_t mono_ms, bool visible);
  // A clear at `seq`: every event before it is hidden from history, resumes and polls.
  void HideBefore(uint64_t seq);
  // The seqs of the messages of `user_tag` still kept and shown, received at ts_ms >= since_ms.
  [[nodiscard]] std::vector<uint64_t> MessagesBy(uint64_t user_tag, int64_t since_ms) const;
  // Shows every event up to seq to joins, resumes and polls.
  void MakeVisible(uint64_t seq);

  // --redis: an event another node's owner (or this one) sequenced through Redis, at its seq
  // (above LastSeq; the caller marks a hole before it lost). Shown at once. A retract event
  // (kEvRetract) hides its target, as Retract does.
  const SequencedMsg& Adopt(SequencedMsg m, uint64_t target = 0);
  // --redis: the room's epoch in Redis differs from this copy's: forget the copy, start over.
  void ResetEpoch(std::string epoch);

  // Start-up replay: puts a logged event back (any order; events already there are skipped).
  // A retract event hides its target as Retract did.
  void Restore(uint64_t seq, std::string_view json, uint8_t flags, uint64_t target,
               uint64_t user_tag = 0, int64_t ts_ms = 0);

  // Start-up replay, after every event is back. MarkLost: seqs from..to may have been written
  // to a log that is now damaged (the room's last event came before the damage): they are never
  // used again in this epoch, and a resume across them gets a gap. FillHoles: the seqs missing
  // between kept events (lost in a damaged log) become gap placeholders, so that a resume
  // across them is told instead of silently skipping them.
  void MarkLost(uint64_t from, uint64_t to);
  void FillHoles();
  // True when seqs are missing between kept events (what FillHoles would fill).
  [[nodiscard]] bool HasHoles() const;
  // The kept event at seq (nullptr: not kept, or hidden by a retraction or a clear).
  [[nodiscard]] const SequencedMsg* Shown(uint64_t seq) const;

  // Join with ?history=N: priority events first (those among the last n visible events, and up to
  // n kept ones older than those), then the ordinary ones among the last n; each part oldest
  // first.
  [[nodiscard]] std::vector<SequencedMsg> Recent(size_t n) const;

  // The events after `since` (resume), priority events first, each part oldest first. A `since`
  // above the head comes from an earlier epoch and counts as 0. At most `max` ordinary events
  // are returned: kOldest returns the first ones (a poller then resumes from `last`), kNewest the
  // last ones (live events follow them). gap_from..gap_to names the seqs after `since` that are
  // neither returned nor still to come; priority events inside it are returned all the same.
  //
  // kPaged is a stream resume's page: the first `max` ordinary events (as kOldest; with max 0,
  // as kNewest), and with them every priority event after them up to the head, so that priority
  // events never wait behind ordinary pages. When `last` is below the head, more pages follow
  // (ask again with since = last and prio_sent_upto = the head now). Priority events with
  // seq <= prio_sent_upto are left out everywhere: the caller already has them.
  enum class Cap { kOldest, kNewest, kPaged };
  struct SinceResult {
    uint64_t gap_from = 0, gap_to = 0;  // gap_to == 0: no gap
    std::vector<SequencedMsg> msgs;
    uint64_t last = 0;  // the last seq returned or covered by the gap; `since` when nothing
  };
  [[nodiscard]] SinceResult Since(uint64_t since, size_t max, Cap cap,
                                  uint64_t prio_sent_upto = 0) const;

  // Viewer accounting per shard; returns the shard's new count.
  uint32_t AddViewers(int shard, uint32_t n);
  uint32_t RemoveViewers(int shard, uint32_t n);
  // Shards that have viewers now.
  [[nodiscard]] const std::vector<uint32_t>& PerShard() const { return per_shard_; }

  // The operators' numbers (GET /admin/rooms/R): distinct viewers, viewers per transport, the
  // message rate and the fan-out lag (room_stats.h); the owner keeps them up to date.
  RoomStats& Stats() { return stats_; }
  // Hot (automatic slow mode on) and sampling now, for the same report.
  [[nodiscard]] bool HotNow() const { return hot_.AutoSlow(); }
  [[nodiscard]] bool SamplingNow() const { return hot_.Sampling(); }
  // Its message rate, automatic slow mode and sample (the owner drives it).
  HotRoom& Hot() { return hot_; }

 private:
  const SequencedMsg& Append(SequencedMsg m, bool visible);
  // History entry with this seq, or nullptr.
  SequencedMsg* FindInHistory(uint64_t seq);
  void Hide(uint64_t target);
  void TrimHistory();

  std::string name_;
  std::string epoch_;
  uint64_t seq_ = 0;
  uint64_t visible_ = 0;
  uint64_t online_ = 0;
  uint64_t others_online_ = 0;
  size_t history_cap_;
  size_t prio_cap_;
  std::deque<SequencedMsg> history_;  // seq order (holes possible after a damaged log)
  std::deque<SequencedMsg> prio_;     // priority events, seq order, at most prio_cap_
  std::vector<uint32_t> per_shard_;
  RoomStats stats_;
  HotRoom hot_;
};

class OwnerRooms {
 public:
  OwnerRooms(int shards, size_t history_cap, size_t max_rooms, size_t prio_cap = 100);
  // The room, created on first use (with a new epoch); nullptr when max_rooms would be exceeded.
  OwnerRoom* GetOrCreate(std::string_view name);
  // Start-up replay: the room with this epoch (created when absent, even past max_rooms).
  OwnerRoom* GetOrCreateWithEpoch(std::string_view name, std::string_view epoch);
  // Drops a room: at replay, an older epoch met a newer one; at run time, an empty room is
  // reclaimed (OwnerService).
  void Drop(std::string_view name);
  OwnerRoom* Find(std::string_view name);
  size_t Count() const { return rooms_.size(); }
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (auto& [name, room] : rooms_) fn(*room);
  }

 private:
  int shards_;
  size_t history_cap_;
  size_t max_rooms_;
  size_t prio_cap_;
  uint64_t epoch_salt_;
  std::unordered_map<std::string, std::unique_ptr<OwnerRoom>> rooms_;
};

}  // namespace roomcast::room
