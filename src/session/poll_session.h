// The long-poll protocol handler: GET /rooms/R/messages[?cursor=C]. States (SessKind):
//   kHttp --poll accepted (the owner asked for what follows the cursor)--> kPollJoining
//   kPollJoining --something to take away: answered at once--> kHttp (or closed)
//   kPollJoining --nothing newer (the owner counts it)--> kPollParked
//   kPollParked --the room's next batch, or its deadline, or a drain: answered--> kHttp (or closed)
// A parked poll is a 24-byte room::Poller in the replica: no buffer, no timer of its own (every
// hold is the same length, so one FIFO of deadlines per shard is in deadline order). A batch
// answers its parked polls with responses built once per (first message lacked, answer form,
// advised wait) and shared. Requests pipelined behind a poll wait for its answer. Shard thread
// only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "context.h"
#include "http/http_parser.h"
#include "longpoll/poll_cursor.h"
#include "poll_rooms.h"
#include "viewers.h"

namespace roomcast::session {

class PollSession final : public ParkedPolls {
 public:
  PollSession(Context* ctx, const std::vector<uint8_t>& cursor_key)
      : ctx_(*ctx), rooms_(ctx->cfg, ctx->shard, ctx->shards), cursor_codec_(cursor_key) {}
  // Set once, before the first request (Viewers and PollSession refer to each other).
  void SetViewers(Viewers* viewers) { viewers_ = viewers; }

  void Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  void OnJoinReply(const mesh::JoinReply& rep);
  // ParkedPolls: a batch of the replica answers the parked polls it has news for.
  void FlushPollers(uint32_t idx) override;
  // A parked poll leaves its replica's list (its connection closed, or it is answered).
  void RemoveParked(ConnId c);
  // Answers (empty) the parked polls whose hold ended.
  void ExpirePolls(uint64_t now_ms);
  // The ms until the next hold ends (UINT32_MAX: none parked).
  [[nodiscard]] uint32_t MsToNextDeadline(uint64_t now_ms) const;
  // The server drains: a parked poll gets a bye and is closed; a joining one a 503.
  void DrainPoll(ConnId c);
  PollRooms& Rooms() { return rooms_; }
  [[nodiscard]] uint64_t Parked() const { return parked_; }

 private:
  struct PollTimer {
    uint64_t deadline_ms;
    ConnId conn;
    uint32_t gen;
  };
  // Answers one poll now: the JSON objects, a cursor at seq; back to plain HTTP.
  void AnswerPoll(ConnId c, uint32_t tag, const std::string& room, std::string_view epoch,
                  uint64_t seq, const std::vector<std::string_view>& objects, uint32_t replica);
  // A poll was answered (its response queued): back to plain HTTP, or closed.
  void EndPoll(ConnId c, bool keep_alive);
  void Park(const mesh::JoinReply& rep);
  uint32_t BaseTimeoutMs(const std::string& room, uint32_t replica);
  std::string PollResponse(uint32_t tag, std::string_view room, std::string_view epoch,
                           uint64_t seq, const std::vector<std::string_view>& objects,
                           uint32_t timeout_ms);

  Context& ctx_;
  Viewers* viewers_ = nullptr;
  PollRooms rooms_;
  longpoll::CursorCodec cursor_codec_;
  std::deque<PollTimer> timers_;  // in deadline order (every hold is the same length)
  uint64_t parked_ = 0;
};

}  // namespace roomcast::session
