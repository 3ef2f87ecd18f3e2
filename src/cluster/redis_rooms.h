// --redis on one shard: the rooms this shard owns, numbered by Redis and followed through it.
// It runs on the shard's own io_uring loop (its links are loop connections; nothing here has a
// thread or a lock). Per Redis instance the shard holds one command link (the publish scripts,
// pipelined, and stream reads) and one pub/sub link (the channels of the rooms it owns that have
// viewers here). docs/cluster.md tells the whole story; in short:
//   - Submit: the owner accepted a message; one EVALSHA numbers it in Redis (Sequencer), and the
//     sender's ack carries Redis's seq (or `unavailable`, within --redis deadline).
//   - A room is *followed* while it has viewers here (or asks wait for it): subscribed to its
//     channel; once Redis confirms the subscription the owner's copy of the room is brought in
//     step from the stream (HMGET epoch and seq, XRANGE after the copy's last seq), and then every
//     channel message with the next seq is delivered (OwnerService::Deliver). A message with a
//     later seq (a hole) or of another epoch starts a repair from the stream; an older one is a
//     double and is dropped. Joins and history asks wait while the copy is not in step (unless
//     Redis cannot be reached: then they are answered from the copy, and the reconnect repairs).
//   - After a reconnect every followed room is subscribed again and repaired the same way.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/redis_address.h"
#include "cluster/fleet_counts.h"
#include "cluster/redis_link.h"
#include "cluster/sequencer.h"
#include "cluster/subscriber.h"
#include "owner/event_log.h"
#include "owner/owner_service.h"
#include "owner/room_sequencing.h"

namespace roomcast::cluster {

struct ClusterOptions {
  std::vector<base::RedisAddress> addrs;
  uint32_t history = 1000;     // the room streams' MAXLEN
  uint32_t dedup_secs = 300;   // a cid is remembered in Redis this long
  uint32_t deadline_ms = 800;  // a send not numbered by then is refused (and never numbered)
  uint32_t probe_ms = 5000;    // --redis-probe-ms: a silent pub/sub link is sent a PING
};

// Counters /metrics reads (relaxed; written by this shard only).
struct ClusterCounters {
  std::atomic<uint64_t>* received;    // channel messages
  std::atomic<uint64_t>* publishes;   // publish scripts sent
  std::atomic<uint64_t>* refused;     // sends refused unavailable
  std::atomic<uint64_t>* reads;       // XRANGE reads
  std::atomic<uint64_t>* repairs;     // rooms brought in step
  std::atomic<uint64_t>* subscribed;  // rooms followed now (gauge)
  std::atomic<uint64_t>* deduplicated;
  std::atomic<uint64_t>* probes;            // idle probes sent on pub/sub links
  std::atomic<uint64_t>* probe_reconnects;  // ...answered by no pong: the link reconnected
  std::atomic<uint64_t>* stream_events;     // events the XRANGE reads returned
  std::atomic<uint64_t>* copy_resets;       // copies Redis disagreed with (OnHead, OnRead)
};

class RedisRooms final : public owner::RoomSequencing {
 public:
  // A join or history ask held for a room whose copy is not in step waits at most this long
  // (normally it waits a few ms: the subscription's confirmation and one stream read). Past it,
  // the room's held asks are answered from the copy, and so is every ask until Redis confirms
  // the subscription (a pub/sub link that stalls silently is found by the idle probe).
  static constexpr uint64_t kHoldMs = 2000;

  RedisRooms(io::Loop* loop, const ClusterOptions& opt, owner::OwnerService* owner,
             owner::Outbox* out, ClusterCounters counters);
  RedisRooms(const RedisRooms&) = delete;
  RedisRooms& operator=(const RedisRooms&) = delete;

  // The loop handler's plumbing: true when the connection (or connect token) is a Redis link's.
  bool OnConnected(uint32_t token, io::ConnId c, int res);
  bool OnRecv(io::ConnId c, std::span<const uint8_t> bytes);
  bool OnPeerGone(io::ConnId c);
  bool OnClosed(io::ConnId c);
  // Starts the links (first call), sends batched subscriptions, runs the links' deadlines and
  // reconnects; returns how long the loop may sleep (ms).
  uint32_t BeforeSleep(uint64_t now_ms);
  // At drain: this node's count fields are deleted (so the other nodes' counts drop at their
  // next read), the command links close once answered (at most kGoodbyeMs), the others at once.
  void Stop();
  static constexpr uint64_t kGoodbyeMs = 500;

  // owner::RoomSequencing
  void Submit(int from, room::OwnerRoom* r, const room::PublishInput& in, mesh::AckReply&& ack,
              SubmitDone done = nullptr) override;
  bool HoldJoin(int from, mesh::JoinReq& req) override;
  bool HoldHistory(int from, mesh::HistoryReq& req) override;
  void ViewersChanged(std::string_view room, uint64_t online) override;
  void ViewerSeen(std::string_view room, uint64_t viewer) override;

  // Counts across nodes (redis_counts.cc): every room this shard follows or counted reports
  // its online count and new viewers to Redis this often, and gets the fleet's sums back.
  static constexpr uint64_t kCountEveryMs = 1000;
  // A node's count is dropped from the sums this long after its last report.
  static constexpr uint32_t kCountTtlMs = 3000;
  // Viewers waiting to be added to the fleet's distinct counts, per room (more are not added).
  static constexpr size_t kMaxSeen = 10000;
  // Moderation (redis_rules.cc; docs/cluster.md, "Moderation").
  bool HoldModerate(int from, mesh::ModerateReq& req) override;
  bool HoldRetract(int from, mesh::RetractReq& req) override;
  bool HoldPublish(int from, mesh::PublishReq& req) override;
  void PublishEvent(std::string_view room, const std::string& json, char kind, uint64_t target,
                    int64_t ts_ms, const std::string& dedup, owner::SharedCallback cb) override;
  void ChangeRule(std::string_view room, const std::string& field, const std::string& value,
                  bool remove, const std::string& event_json, int64_t ts_ms,
                  owner::SharedCallback cb) override;

 private:
  struct Held {
    int from;
    mesh::Message ask;
    uint64_t since_ms;
  };
  struct Follow {
    bool in_step = false;      // the copy holds every event up to what the channel brings next
    bool syncing = false;      // a stream read is under way
    bool releasing = false;    // held asks are being answered
    bool subscribed = false;   // Redis confirmed the channel's subscription
    bool again = false;        // asked to sync while syncing: read the stream once more after
    bool unconfirmed = false;  // held asks timed out: answer from the copy until subscribed
    uint64_t check_seq = 0;    // the copy's last seq, which the stream read must show as it is
    std::vector<Held> held;
    std::map<uint64_t, StoredEvent>
        early;  // channel messages that came before the copy was in step
    // The room's rules: known once a read of its rules hash came back (and kept so by the
    // changes its channel tells); the changes told while a read is under way wait for it.
    bool rules_known = false;
    bool rules_pending = false;
    std::vector<std::string> early_rules;
  };
  // A room this node sends to without following it: its rules are read (HGETALL) at most once
  // a second, the sends held meanwhile (redis_rules.cc).
  struct RulesRead {
    uint64_t read_ms = 0;
    bool pending = false;
    std::vector<Held> held;
  };

  RedisLink* LinkOf(io::ConnId c);
  bool MustHold(const std::string& room);
  void Want(const std::string& room);
  void Settle(const std::string& room);
  void OnSubscribed(std::string_view room);
  void OnEvent(std::string_view room, const StoredEvent& ev);
  void Sync(const std::string& room);
  void OnHead(const std::string& room, const Reply& r);
  void ReadFrom(const std::string& room, uint64_t after);
  void OnRead(const std::string& room, bool ok, std::vector<StoredEvent> events);
  void FinishSync(const std::string& room, bool ok);
  // False when the copy's last event (check_seq) is not the stream's: the copy is forgotten.
  bool CopyAgrees(room::OwnerRoom* r, Follow& f, const std::vector<StoredEvent>& events);
  void ForgetCopy(room::OwnerRoom* r, const char* why);
  void Apply(room::OwnerRoom* r, const StoredEvent& ev);
  void Release(const std::string& room);
  void Hold(int from, const std::string& room, mesh::Message&& ask);
  // An ask for req.room held until the room's copy is in step (true: taken, answered later).
  template <typename Req>
  bool HoldAsk(int from, Req& req) {
    if (!MustHold(req.room)) return false;
    const std::string room = req.room;
    Hold(from, room, mesh::Message(std::move(req)));
    return true;
  }
  // Answers the asks held longer than kHoldMs from the copy; returns the next deadline's wait.
  uint32_t ExpireHolds(uint64_t now_ms);
  // redis_counts.cc
  uint32_t ReportCounts(uint64_t now_ms);
  void ReportRoom(const std::string& room);
  void Replay(Held& h);
  // Moderation (redis_rules.cc).
  Gate GateOf(const room::PublishInput& in);
  void AnswerGate(const PublishResult& res, const std::string& room, mesh::AckReply* ack);
  void ReadRules(const std::string& room, uint64_t deadline);
  void OnRules(const std::string& room, bool ok,
               std::vector<std::pair<std::string, std::string>> fields);
  void OnRuleChange(const std::string& room, std::string_view change);
  void OnRulesRead(const std::string& room, bool ok,
                   std::vector<std::pair<std::string, std::string>> fields);
  void SweepRulesReads(uint64_t now_ms);

  io::Loop* loop_;
  ClusterOptions opt_;
  owner::OwnerService* owner_;
  owner::Outbox* out_;
  ClusterCounters counters_;
  std::vector<std::unique_ptr<RedisLink>> links_;  // commands [0, n), pub/sub [n, 2n)
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<Subscriber> subscriber_;
  std::unique_ptr<FleetCounts> counts_;
  struct Counted {
    uint64_t reported = 0;       // the count this node wrote last (0: no field of ours)
    std::vector<uint64_t> seen;  // viewers that joined since the last report
  };
  std::unordered_map<std::string, Counted> counted_;
  uint64_t next_count_ms_ = 0;
  std::unordered_map<std::string, Follow> follows_;
  std::deque<std::pair<uint64_t, std::string>> hold_deadlines_;  // (when, room), in time order
  std::unordered_map<std::string, RulesRead> rules_reads_;
  uint64_t rules_swept_ms_ = 0;
  bool started_ = false;
  bool stopping_ = false;
};

}  // namespace roomcast::cluster
