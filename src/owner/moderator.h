// Moderator: the moderation half of a shard's owner (PROTOCOL.md v2, "Moderation"). It checks
// every user's message before OwnerService sequences it (bans, the rate limit, the room's modes,
// the blocked terms: refusals are answered here, held messages kept), applies the moderators'
// acts (bans, modes, clears, deletes, terms, allow and deny), writes each as a control record to
// the owner's EventLog, keeps the audit, checkpoints the state into every new log segment, and
// reads it all back at start-up. It sequences, retracts and forwards through its OwnerService.
// Owner shard thread only; driven through OwnerService in unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/blocked_terms.h"
#include "mesh/messages.h"
#include "owner/moderation.h"
#include "owner/room_sequencing.h"
#include "room/room_owner.h"
#include "store/segment_log.h"

namespace roomcast::owner {

// A moderator's mode act applied to the modes in force: the fields it names change, and its
// "slow_secs":0 lifts automatic slow mode too (owner_hot.cc).
[[nodiscard]] room::RoomModes WithModes(room::RoomModes m, const chat::ModOp& op);

class OwnerService;

// --redis: a moderation act answered once every Redis call it made has answered
// (shared_moderator.cc).
struct SharedAct {
  int from = 0;
  mesh::AckReply ack;
  size_t left = 0;      // calls still to answer
  bool failed = false;  // one of them could not reach Redis
};

class Moderator {
 public:
  Moderator(OwnerService* svc, const room::ModPolicy& policy, size_t max_rooms);
  Moderator(const Moderator&) = delete;
  Moderator& operator=(const Moderator&) = delete;

  // A user's message before it is sequenced. kRefused and kHeld: answered here; kShadow: the
  // sender's ban is a shadow one (AnswerShadow); kGo: sequence it (its text may be masked).
  enum class SenderCheck { kRefused, kGo, kShadow, kHeld };
  SenderCheck CheckSender(int from, mesh::PublishReq& req, mesh::AckReply* ack);
  // Acks a shadow-banned user's message and shows it to that user's viewers only.
  void AnswerShadow(int from, room::OwnerRoom* r, const room::PublishInput& in,
                    mesh::AckReply&& ack);
  // A moderation act: answered with an AckReply whose `op` is set.
  void OnModerate(int from, mesh::ModerateReq& req, uint64_t now_mono_ms);
  // An act done elsewhere (an admin retraction): its control record and audit entry.
  void RecordAct(room::OwnerRoom* r, RoomRules* rr, std::string_view actor, const chat::ModOp& op,
                 int64_t ts_ms, uint64_t seq);
  // About once a second (Unix ms): ended timeouts and idle rate windows are dropped.
  void OnSecond(int64_t now_unix_ms);
  // Re-appends every room's moderation state as checkpoint records (the log, before it starts
  // a new segment: retention deletes old segments and their control records).
  void CheckpointModeration();
  // Start-up replay of a control record.
  void RestoreControl(const store::Record& rec);

  [[nodiscard]] Moderation& Rules() { return mod_; }

  // --redis (shared_moderator.cc): an act on a room's rules, shared through Redis; an admin
  // retraction; the rules as Redis holds them, and one change told by it.
  void OnModerateShared(int from, mesh::ModerateReq& req, uint64_t now_mono_ms);
  void OnRetractShared(int from, mesh::RetractReq& req, mesh::AckReply&& ack);
  void ResetSharedRules(std::string_view room,
                        const std::vector<std::pair<std::string, std::string>>& fields);
  void ApplySharedRule(std::string_view room, char op, std::string_view field,
                       std::string_view value);

 private:
  // --redis (shared_moderator.cc).
  void ShareAct(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                const std::shared_ptr<SharedAct>& p);
  void ShareBan(room::OwnerRoom* r, const mesh::ModerateReq& req,
                const std::shared_ptr<SharedAct>& p);
  void ShareModes(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                  const std::shared_ptr<SharedAct>& p);
  void AllowShared(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                   const std::shared_ptr<SharedAct>& p);
  // False (and the act answered) when Redis refused or could not be reached.
  bool Answered(const std::shared_ptr<SharedAct>& p, const SharedAnswer& ans,
                chat::Refusal no_such_field);
  // Audited, logged and answered with seq (or `unavailable` when a part failed).
  void Finish(const std::shared_ptr<SharedAct>& p, const mesh::ModerateReq& req, uint64_t seq);
  void RetractShared(const std::string& room, const std::vector<uint64_t>& targets,
                     std::string_view reason, const mesh::ModerateReq& req,
                     const std::shared_ptr<SharedAct>& p);
  void RetractOneShared(room::OwnerRoom* r, uint64_t target, std::string_view reason, int64_t ts_ms,
                        std::function<void(chat::Refusal, uint64_t)> done);

  // The room's and the server-wide blocked terms on `text`: the most severe action matched.
  chat::TermVerdict ScanTerms(const RoomRules& rr, std::string_view text);
  // A held message: kept for a moderator (a control record), acked with its id.
  SenderCheck Hold(int from, RoomRules* rr, mesh::PublishReq& req, mesh::AckReply* ack);
  // PUT /admin/terms on the owner of chat::kGlobalRoom (logged there, copied to every shard).
  void OnGlobalTerms(int from, mesh::ModerateReq& req, mesh::AckReply&& ack);
  chat::Refusal ApplyAct(room::OwnerRoom* r, RoomRules* rr, const mesh::ModerateReq& req,
                         uint64_t mono_ms, uint64_t* seq);
  uint64_t SequenceAndForward(room::OwnerRoom* r, std::string_view type, std::string_view fields,
                              const mesh::ModerateReq& req, uint64_t mono_ms, bool visible);
  void RetractBy(room::OwnerRoom* r, std::string_view user, int64_t since_ms,
                 const mesh::ModerateReq& req, uint64_t mono_ms);

  OwnerService& svc_;
  Moderation mod_;
  // A blocked-terms value of a rules hash (false, logged: not understood; nothing changes).
  bool ParseTerms(std::string_view room, std::string_view value, std::vector<chat::TermRule>* rules,
                  std::shared_ptr<const chat::TermSet>* compiled);
  std::vector<chat::TermRule> global_rules_;           // the server-wide blocked terms
  std::shared_ptr<const chat::TermSet> global_terms_;  // ... compiled (null: none)
  chat::TermScratch scratch_;
};

}  // namespace roomcast::owner
