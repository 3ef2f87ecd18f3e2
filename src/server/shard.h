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

#include "roomcast/client_op.h"
#include "roomcast/config.h"
#include "roomcast/dedup_window.h"
#include "roomcast/segment_log.h"
#include "roomcast/http_parser.h"
#include "roomcast/mesh.h"
#include "roomcast/poll_cursor.h"
#include "roomcast/poll_pacing.h"
#include "roomcast/room_owner.h"
#include "roomcast/room_replica.h"
#include "roomcast/shard_loop.h"
#include "roomcast/ws_frame.h"
#include "batch.h"
#include "server_shared.h"

namespace roomcast::server {

using io::ConnId;

// What a connection is now. An HTTP connection becomes a WebSocket or SSE viewer for good; a
// long-poll is an HTTP connection that waits for its room (joining, then parked) and is HTTP
// again once answered.
enum class SessKind : uint8_t {
  kFree,
  kHttp,
  kWsJoining,
  kWs,
  kRefused,
  kPollJoining,  // asked the owner for what follows its cursor
  kPollParked,   // at the room's head: in the replica's pollers until a batch or its deadline
  kSseJoining,
  kSse,
};

enum : uint8_t {
  kSawRequest = 1 << 0,   // an HTTP request head arrived on this connection
  kAwaitingAck = 1 << 1,  // an HTTP send waits for the owner's answer; input is held meanwhile
  kPinged = 1 << 2,       // a WebSocket ping is outstanding
  kClosingSess = 1 << 3,  // we decided to close; ignore further input
};

// Input that could not be handled yet: an incomplete HTTP head or WebSocket frame, held input
// behind a pending request, a fragmented message. Exists only while needed.
struct PendingInput {
  std::string input;
  std::string fragments;
  bool assembling = false;
};

// Fixed-size per-connection record (32 bytes), indexed by connection id.
struct Session {
  uint32_t gen = 0;
  SessKind kind = SessKind::kFree;
  uint8_t flags = 0;
  uint16_t user_len = 0;  // 0: anonymous ("anon-<shard>-<conn>-<gen>")
  uint32_t replica = room::kNoReplica;
  uint32_t viewer_pos = 0;
  uint32_t last_active = 0;  // shard clock, seconds
  uint32_t user = 0;         // index into the shard's user names when user_len > 0
  PendingInput* pending = nullptr;
};

// Mesh item kinds (payload object in Item::ptr, owned by the receiver).
enum ItemKind : uint32_t {
  kItemPublish = 1,  // PublishReq, ingest shard -> owner
  kItemAck,          // AckReply, owner -> ingest shard
  kItemForward,      // ForwardMsg, owner -> every shard with viewers
  kItemJoin,         // JoinReq, viewer's shard -> owner
  kItemJoinReply,    // JoinReply, owner -> viewer's shard
  kItemLeave,        // LeaveReq (a = count), viewer's shard -> owner
  kItemRetract,      // RetractReq, admin's shard -> owner (answered with kItemAck)
  kItemHistory,       // HistoryReq, requester's shard -> owner
  kItemHistoryReply,  // HistoryReply, owner -> requester's shard
};

// How a join is served. A long-poll "join" asks for what follows a cursor; the owner counts it
// as a viewer only when it will be parked (nothing newer yet).
enum class JoinMode : uint8_t { kWs, kSse, kPoll };

// CORS: which Access-Control-Allow-Origin a request gets (an index into Shard::cors_headers_).
enum : uint8_t { kCorsNone = 0, kCorsAny = 1, kCorsFirstListed = 2, kCorsDenied = 255 };

// A long-poll's answer form, carried through the owner and kept with a parked poll.
struct PollTag {
  bool keep_alive;
  uint8_t cors;
  static uint32_t Pack(bool keep_alive, uint8_t cors) {
    return (keep_alive ? 1u : 0u) | (static_cast<uint32_t>(cors) << 1);
  }
  static PollTag Unpack(uint32_t t) { return {(t & 1) != 0, static_cast<uint8_t>(t >> 1)}; }
};

// What long-poll pacing knows about one room on this shard. Kept by room name, not with the
// replica: in a paced room most polls are answered at once and never park, so the replica comes
// and goes while this must persist (dropped after a minute without polls).
struct PollRoomState {
  explicit PollRoomState(uint32_t horizon_ms) : away(horizon_ms) {}
  longpoll::HeadRate msgs;       // the room's message rate, from the growth of its head seq
  longpoll::WaitingPollers away;  // answered polls still waiting out their timeoutMs
  longpoll::RateMeter reqs;      // long-poll requests for the room on this shard (/metrics)
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

  // durable.cc. Before the shard threads start (main thread): opens this shard's log (repairs a
  // torn tail), and puts replayed events back into the rooms this shard owns.
  [[nodiscard]] int OpenLog(store::RecoveryReport* rep, std::string* error);
  void RestoreEvent(const store::Record& rec);
  // After replay: drops the per-room bookkeeping it needed; returns the rooms restored.
  size_t EndRestore();

 private:
  friend class WsFrameSink;
  Session& Sess(ConnId c);
  std::string UserName(ConnId c) const;
  void SetUser(ConnId c, const std::string& user);
  void ProcessInput(ConnId c, std::span<const uint8_t> data);
  size_t ProcessHttp(ConnId c, std::span<const uint8_t> data);
  size_t ProcessWs(ConnId c, std::span<const uint8_t> data);
  void SetPendingInput(ConnId c, std::span<const uint8_t> rest);

  // http_front.cc
  // Handles one complete request. A request that ends the connection sets kClosingSess, which
  // stops further input.
  void HandleRequest(ConnId c, const http::Request& req, std::string_view body);
  void HandleUpgrade(ConnId c, const http::Request& req);
  void HandleHttpSend(ConnId c, const http::Request& req, std::string_view room,
                      std::string_view body);
  void RespondHttp(ConnId c, std::string response, bool keep_alive);
  void RespondError(ConnId c, int status, std::string_view code, std::string_view message,
                    bool keep_alive);
  void HandlePreflight(ConnId c, bool keep_alive);
  std::string RenderMetrics();
  // CORS: the index for this request's Origin, and the header lines for an index.
  uint8_t CorsIndex(const http::Request& req) const;
  std::string_view CorsHeaders(uint8_t idx) const;
  // Goes on with requests that were held behind an answer this connection was waiting for.
  void ResumeHeldInput(ConnId c);

  // poll_front.cc (long-poll)
  void HandlePoll(ConnId c, const http::Request& req, std::string_view room);
  void OnPollReply(struct JoinReply* rep);
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
  void HandleSse(ConnId c, const http::Request& req, std::string_view room);
  void OnSseReply(struct JoinReply* rep);
  void SseHeartbeat();

  // ws_front.cc
  bool HandleFrame(ConnId c, const ws::Frame& f);
  void HandleWsText(ConnId c, std::string_view text);
  void SendWsText(ConnId c, std::string_view json);
  void SendWsError(ConnId c, std::string_view code, std::string_view message);
  void CloseWs(ConnId c, ws::CloseCode code, std::string_view reason);

  // room_service.cc
  // admin: a server-side publish (op.user, op.prio and op.msg_kind count).
  void Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op,
               bool admin = false);
  void Retract(ConnId c, std::string_view room, uint64_t target, const chat::RetractBody& b);
  // Asks the room's owner to join (or, for a poll, for what follows `since`). since ==
  // kNoSince: no resume. `epoch`: the cursor's epoch (polls only).
  static constexpr uint64_t kNoSince = UINT64_MAX;
  void StartJoin(ConnId c, std::string_view room, uint32_t history, JoinMode mode = JoinMode::kWs,
                 uint64_t since = kNoSince, std::string_view epoch = {}, uint32_t tag = 0);
  // The frames (or events) a joining stream viewer gets after its welcome.
  void AppendJoinBacklog(struct JoinReply* rep, bool sse, std::string* out);
  void LeaveRoom(ConnId c);
  void HandleItem(const mesh::Item& item);
  static void FreeItem(const mesh::Item& item);
  void OnPublish(int from, struct PublishReq* req);
  void OnAck(struct AckReply* ack);
  void OnForward(struct ForwardMsg* fwd);
  void OnJoin(int from, struct JoinReq* req);
  void OnJoinReply(struct JoinReply* rep);
  void OnWsReply(struct JoinReply* rep);
  std::string WelcomeJson(const struct JoinReply& rep);
  void OnLeave(int from, std::string* room, uint32_t count);
  void OnRetract(int from, struct RetractReq* req);
  // Forwards a sequenced event to every shard with viewers of the room (after the log write).
  void ForwardEvent(room::OwnerRoom* r, const room::SequencedMsg& m);

  // durable.cc: the group commit. Events appended during a turn are written with one write when
  // the loop is about to sleep; the acks and forwards of those events wait for that write (and,
  // with --fsync batch, its fdatasync), and only then do joins and polls see the events.
  void LogEvent(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
                std::string_view cid, uint64_t target, int64_t ts_ms);
  // Sends now without a log; with one, after every event logged so far is written.
  void SendAfterLog(int to, mesh::Item item);
  void StartLogWrite(uint64_t now_ms);  // the group commit, and the interval fsync when due
  void StartGroupCommit();
  void ReleaseLogGroup();
  void LogFailed(const char* what, int res);
  void CloseLog();  // after the loop ended: writes what is left, synchronously

  // history_front.cc: GET /rooms/R/history?after=S&limit=N, a page of what the room keeps.
  void HandleHistory(ConnId c, const http::Request& req, std::string_view room);
  void OnHistory(int from, struct HistoryReq* req);
  void OnHistoryReply(struct HistoryReply* rep);

  // HTTP admin endpoints (admin_front.cc).
  void HandleAdmin(ConnId c, const http::Request& req, std::string_view body);
  [[nodiscard]] bool AdminAuthorized(ConnId c, const http::Request& req, bool keep_alive);
  void FlushReplica(uint32_t idx);
  void SendToOwner(std::string_view room, uint32_t kind, uint64_t a, void* ptr);

  void Sweep();
  void PublishMetrics();

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
  room::OwnerRooms owned_;
  room::Replicas replicas_;
  std::unordered_map<std::string, PollRoomState> poll_rooms_;
  std::deque<PollTimer> poll_timers_;      // in deadline order (every hold is the same length)
  longpoll::CursorCodec cursor_codec_;
  room::DedupWindow dedup_;
  // The durable log (null without --data-dir) and its group commit.
  struct LogGroup {
    std::vector<std::pair<int, mesh::Item>> items;  // mesh sends held until written
    std::vector<std::pair<room::OwnerRoom*, uint64_t>> visible;  // rooms' seqs shown then
    bool Empty() const { return items.empty() && visible.empty(); }
  };
  std::unique_ptr<store::SegmentLog> log_;
  LogGroup log_pending_;   // events of the batch being collected
  LogGroup log_inflight_;  // events of the batch being written
  store::SegmentLog::Batch log_batch_;
  uint32_t log_written_ = 0;  // bytes of log_batch_ written so far
  bool log_busy_ = false;     // a write (or its batch fsync) is in flight
  bool log_sync_busy_ = false;  // an interval fsync is in flight
  bool log_unsynced_ = false;   // written since the last interval fsync
  uint64_t log_next_sync_ms_ = 0;
  uint64_t log_started_us_ = 0;
  std::unordered_map<std::string, int64_t> restore_ts_;  // replay: room -> newest record ts
  int64_t restore_now_ms_ = 0;                           // replay: Unix ms when it began
  std::vector<std::string> cors_headers_;  // by CORS index
  std::vector<std::string> cors_list_;     // --cors-origins, from index kCorsFirstListed
  uint8_t cur_cors_ = kCorsNone;           // the request being handled
  std::vector<std::unique_ptr<Session[]>> sessions_;
  uint32_t max_slot_ = 0;
  std::vector<std::string> user_names_;  // per-connection user names (index in Session::user)
  std::vector<uint32_t> free_user_slots_;
  uint32_t max_conns_here_;
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
};

}  // namespace roomcast::server
