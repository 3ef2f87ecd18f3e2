// One shard: the protocol side of a shard loop. It implements io::LoopHandler and joins the layers
// below: HTTP requests and WebSocket frames from connections, chat ops to the room owner through
// the mesh, sequenced messages from the mesh into room replicas, and each replica's batch out to
// its viewers. Everything here runs on the shard's own thread; the only things other threads see
// are the mesh rings and the relaxed metric counters in ShardMetrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/config.h"
#include "catch_up.h"
#include "chat/client_op.h"
#include "http/http_parser.h"
#include "io/shard_loop.h"
#include "longpoll/poll_cursor.h"
#include "longpoll/poll_pacing.h"
#include "mesh/mesh.h"
#include "mesh/messages.h"
#include "owner/event_log.h"
#include "owner/group_commit_log.h"
#include "owner/owner_service.h"
#include "room/fanout.h"
#include "room/room_owner.h"
#include "room/room_replica.h"
#include "server_shared.h"
#include "session/session_table.h"
#include "store/segment_log.h"
#include "ws/ws_frame.h"

namespace roomcast::server {

using io::ConnId;

using session::kAwaitingAck;
using session::kClosingSess;
using session::kPinged;
using session::kSawRequest;
using session::PendingInput;
using session::Session;
using session::SessKind;

using mesh::JoinMode;
using room::EncodeBatch;
using room::EncodeObject;
using room::EventType;
using room::FanoutResult;
using room::Framing;
using room::ViewerQueues;

// CORS: which Access-Control-Allow-Origin a request gets (an index into Shard::cors_headers_).
enum : uint8_t { kCorsNone = 0, kCorsAny = 1, kCorsFirstListed = 2, kCorsDenied = 255 };

// How an HTTP answer is given: keep the connection or close it after, and which CORS headers it
// carries. It travels with the request (through the owner and back, and with a parked poll), so
// no answer ever depends on which request was handled last.
struct AnswerForm {
  bool keep_alive;
  uint8_t cors;
  bool head_only = false;  // a HEAD request: the headers of the answer, no body
  [[nodiscard]] AnswerForm Closing() const { return {false, cors, head_only}; }
  static uint32_t Pack(AnswerForm a) {
    return (a.keep_alive ? 1u : 0u) | (static_cast<uint32_t>(a.cors) << 1) |
           (a.head_only ? 1u << 9 : 0u);
  }
  static AnswerForm Unpack(uint32_t t) {
    return {(t & 1) != 0, static_cast<uint8_t>(t >> 1), (t & (1u << 9)) != 0};
  }
};
using PollTag = AnswerForm;  // a long-poll's answer form, packed into JoinReq::tag

// What long-poll pacing knows about one room on this shard. Kept by room name, not with the
// replica: in a paced room most polls are answered at once and never park, so the replica comes
// and goes while this must persist (dropped after a minute without polls).
struct PollRoomState {
  explicit PollRoomState(uint32_t horizon_ms) : away(horizon_ms) {}
  longpoll::HeadRate msgs;        // the room's message rate, from the growth of its head seq
  longpoll::WaitingPollers away;  // answered polls still waiting out their timeoutMs
  longpoll::RateMeter reqs;       // long-poll requests for the room on this shard (/metrics)
  uint64_t last_req_ms = 0;
  uint32_t timeout_ms = 0;  // the last base timeoutMs advised (for /metrics)
  uint32_t parked = 0;      // polls parked now
};

struct PollTimer {
  uint64_t deadline_ms;
  ConnId conn;
  uint32_t gen;
};

// ?epoch=E (the epoch a resuming viewer's seqs belong to): 1..64 letters and digits, or absent
// (*epoch empty). False when present and malformed.
[[nodiscard]] bool ParseEpochParam(const http::Request& req, std::string* epoch);
inline constexpr std::string_view kEpochRule = "epoch must be 1..64 letters and digits";

class Shard final : public io::LoopHandler {
 public:
  Shard(ServerShared* shared, int id);
  ~Shard();
  // On the shard's thread: set up the loop, then run until drained.
  [[nodiscard]] int Init(std::string* error);
  void Run();
  io::Loop& Loop() { return loop_; }
  // Main thread, after every shard thread has joined: frees mesh items nobody will receive.
  void DiscardInFlight();

  // io::LoopHandler
  void OnAccept(ConnId c) override;
  void OnRecv(ConnId c, std::span<const uint8_t> data) override;
  void OnPeerGone(ConnId c) override;
  void OnSendDrained(ConnId c) override;
  void OnClosed(ConnId c) override;
  void OnTurn(uint64_t now_ms) override;
  uint32_t BeforeSleep(uint64_t now_ms) override;
  bool HasInbound() override;
  void OnStopRequested() override;
  void OnFileDone(uint32_t token, int res) override;

  // Before the shard threads start (main thread): opens this shard's durable log (repairs a
  // torn tail) and makes it the owner's EventLog; then replay puts logged events back into the
  // rooms this shard owns (OwnerService::RestoreEvent and friends).
  [[nodiscard]] int OpenLog(store::RecoveryReport* rep, std::string* error);
  owner::OwnerService& Owner() { return owner_; }

 private:
  friend class WsFrameSink;
  Session& Sess(ConnId c) { return sessions_.Get(c); }
  void ProcessInput(ConnId c, std::span<const uint8_t> data);
  size_t ProcessHttp(ConnId c, std::span<const uint8_t> data);
  size_t ProcessWs(ConnId c, std::span<const uint8_t> data);
  void SetPendingInput(ConnId c, std::span<const uint8_t> rest);

  // http_front.cc
  // Handles one complete request. A request that ends the connection sets kClosingSess, which
  // stops further input.
  void HandleRequest(ConnId c, const http::Request& req, std::string_view body);
  void HandleUpgrade(ConnId c, const http::Request& req, AnswerForm a);
  void HandleHttpSend(ConnId c, const http::Request& req, AnswerForm a, std::string_view room,
                      std::string_view body);
  void RespondHttp(ConnId c, std::string response, bool keep_alive);
  // The answer in form a: without its body for a HEAD request (Content-Length stays).
  void Respond(ConnId c, AnswerForm a, std::string response);
  void RespondError(ConnId c, AnswerForm a, int status, std::string_view code,
                    std::string_view message);
  void HandlePreflight(ConnId c, AnswerForm a);
  // refusal_log.cc: a debug line for a refused request or op (status 0: a WebSocket error),
  // at most kRefusalLinesPerSec a second per shard; the rest are counted and summed up.
  void NoteRefusal(ConnId c, int status, std::string_view code, std::string_view message);
  // The form of an answer to input that is not a request (a malformed head): closing, with the
  // CORS headers every answer carries under --cors-origins '*'.
  [[nodiscard]] AnswerForm NoRequestForm() const;
  std::string RenderMetrics();
  // CORS: the index for this request's Origin, and the header lines for an index.
  uint8_t CorsIndex(const http::Request& req) const;
  std::string_view CorsHeaders(uint8_t idx) const;
  // A request that changes state (an upgrade, a send) from a browser page whose origin the
  // --cors-origins list does not allow, and that is not our own origin: refused with 403.
  [[nodiscard]] bool OriginRefused(const http::Request& req, AnswerForm a) const;
  // Goes on with requests that were held behind an answer this connection was waiting for.
  void ResumeHeldInput(ConnId c);

  // poll_front.cc (long-poll)
  void HandlePoll(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  void OnPollReply(mesh::JoinReply& rep);
  // Answers one poll now: the JSON objects, a cursor at seq; back to plain HTTP.
  void AnswerPoll(ConnId c, uint32_t tag, const std::string& room, std::string_view epoch,
                  uint64_t seq, const std::vector<std::string_view>& objects, uint32_t replica);
  // A poll was answered (its response queued): back to plain HTTP, or closed.
  void EndPoll(ConnId c, bool keep_alive);
  void FlushPollers(uint32_t idx);
  void ExpirePolls(uint64_t now_ms);
  void RemoveParked(ConnId c);
  // The base timeoutMs for the room now (updates its state); jitter by connection on top.
  uint32_t PollBaseTimeoutMs(const std::string& room, uint32_t replica);
  void NotePollHead(const std::string& room, uint64_t head);
  void NotePollAnswered(const std::string& room, uint32_t timeout_ms, uint32_t n);
  void SweepPollRooms();
  // Rebuilds this shard's /metrics lines for its hottest long-poll rooms (once a second).
  void PublishHotPollRooms();
  static constexpr size_t kHotPollRooms = 10;
  std::string PollResponse(uint32_t tag, std::string_view room, std::string_view epoch,
                           uint64_t seq, const std::vector<std::string_view>& objects,
                           uint32_t timeout_ms);
  void DrainPoll(ConnId c);

  // sse_front.cc
  void HandleSse(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  void OnSseReply(mesh::JoinReply& rep);
  void SseHeartbeat();

  // ws_front.cc
  bool HandleFrame(ConnId c, const ws::Frame& f);
  void HandleWsText(ConnId c, std::string_view text);
  // False (and the connection closed) when a reply would take the queue past twice
  // --max-queue-bytes (batches and pages may take the first half).
  [[nodiscard]] bool ReplyFits(ConnId c, size_t bytes);
  void SendWsText(ConnId c, std::string_view json);
  void SendWsError(ConnId c, std::string_view code, std::string_view message);
  void CloseWs(ConnId c, ws::CloseCode code, std::string_view reason);

  // room_service.cc
  // admin: a server-side publish (op.user, op.prio and op.msg_kind count).
  // cors: the answer form's, for an HTTP send (returned with the ack).
  void Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op,
               bool admin = false, uint8_t cors = kCorsNone);
  void Retract(ConnId c, std::string_view room, uint64_t target, const chat::RetractBody& b,
               uint8_t cors);
  // Asks the room's owner to join (or, for a poll, for what follows `since`). since ==
  // kNoSince: no resume. `epoch`: the cursor's epoch (polls only).
  static constexpr uint64_t kNoSince = mesh::kNoSince;
  void StartJoin(ConnId c, std::string_view room, uint32_t history, JoinMode mode = JoinMode::kWs,
                 uint64_t since = kNoSince, std::string_view epoch = {}, uint32_t tag = 0);
  // The frames (or events) a joining stream viewer gets after its welcome.
  void AppendJoinBacklog(const mesh::JoinReply& rep, bool sse, std::string* out);
  void LeaveRoom(ConnId c);
  // Every message another shard (or this one) sent us: one dispatch over mesh::Message.
  void HandleMessage(int from, mesh::Message& msg);
  void OnAck(mesh::AckReply& ack);
  void OnForward(mesh::ForwardMsg& fwd);
  void OnJoinReply(mesh::JoinReply& rep);
  void OnWsReply(mesh::JoinReply& rep);
  std::string WelcomeJson(const mesh::JoinReply& rep);

  // catch_up.cc: a stream resume answered in pages (catch_up.h).
  [[nodiscard]] bool CatchingUp(ConnId c) const;
  // Queues `out` (the welcome, on the first page) and the page's events; asks for the next page
  // when it fits.
  void QueueCatchUpPage(const mesh::JoinReply& rep, bool sse, std::string out);
  // Asks the owner for the next page if the connection has room for it (from OnSendDrained too).
  void AskNextPage(ConnId c);
  // The catch-up ended (its last answer, a refusal, or the viewer left): drops its hold.
  void EndCatchUp(ConnId c);

  // history_front.cc: GET /rooms/R/history?after=S&limit=N, a page of what the room keeps.
  void HandleHistory(ConnId c, const http::Request& req, AnswerForm a, std::string_view room);
  void OnHistoryReply(mesh::HistoryReply& rep);

  // debug_front.cc: POST /debug/stall (only with --debug-stall).
  void HandleDebugStall(ConnId c, const http::Request& req, AnswerForm a);

  // HTTP admin endpoints (admin_front.cc).
  void HandleAdmin(ConnId c, const http::Request& req, AnswerForm a, std::string_view body);
  [[nodiscard]] bool AdminAuthorized(ConnId c, const http::Request& req, AnswerForm a);
  void FlushReplica(uint32_t idx);
  void SendToOwner(std::string_view room, mesh::Message&& msg);

  void Sweep();
  void PublishMetrics();
  // live_settings.cc: takes the settings SIGHUP changed (admin key, CORS list).
  void ApplyLiveSettings();

  ServerShared* shared_;
  const Config& cfg_;
  int id_;
  io::Loop loop_;
  mesh::Endpoint mesh_;
  ShardMetrics& metrics_;
  ws::FrameReader frame_reader_;
  ws::FrameWriter frame_writer_;
  chat::ClientOpParser op_parser_;
  chat::TextLimits text_limits_;
  http::ParseLimits http_limits_;
  room::Replicas replicas_;
  std::unordered_map<std::string, PollRoomState> poll_rooms_;
  std::deque<PollTimer> poll_timers_;  // in deadline order (every hold is the same length)
  longpoll::CursorCodec cursor_codec_;
  // The owner side of the rooms this shard owns, and where their events are kept.
  class MeshOutbox final : public owner::Outbox {
   public:
    explicit MeshOutbox(mesh::Endpoint* mesh) : mesh_(mesh) {}
    void Send(int shard, mesh::Message&& msg) override {
      mesh_->Send(shard, mesh::Pack(std::move(msg)));
    }

   private:
    mesh::Endpoint* mesh_;
  };
  MeshOutbox outbox_;
  owner::MemoryEventLog memory_log_;
  std::unique_ptr<owner::GroupCommitLog> durable_log_;  // with --data-dir
  owner::OwnerService owner_;
  uint64_t refusal_window_s_ = 0;  // the second refusal_lines_ counts in
  uint32_t refusal_lines_ = 0;
  uint64_t refusals_unlogged_ = 0;
  uint64_t live_generation_ = 0;
  std::shared_ptr<const LiveSettings> live_;  // admin key and CORS list, as last reloaded
  std::vector<std::string> cors_headers_;     // by CORS index
  std::vector<std::string> cors_list_;        // --cors-origins, from index kCorsFirstListed
  session::SessionTable sessions_;
  uint64_t start_ms_ = 0;
  uint32_t clock_s_ = 0;
  uint64_t next_sweep_ms_ = 0;
  uint64_t next_metrics_ms_ = 0;
  uint32_t next_heartbeat_s_ = 0;  // shard clock second of the next SSE heartbeat
  uint64_t server_id_counter_ = 0;
  bool draining_ = false;
  // Local counters mirrored into metrics_ periodically.
  uint64_t ws_viewers_ = 0;
  uint64_t sse_viewers_ = 0;
  uint64_t parked_ = 0;
  // Stream resumes catching up, by connection (one page in flight each at most).
  std::unordered_map<ConnId, CatchUp> catchups_;
  uint64_t catchup_queue_peak_ = 0;  // the largest send queue a page left behind (/metrics)
};

}  // namespace roomcast::server
