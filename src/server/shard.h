// One shard: the protocol side of a shard loop. It implements io::LoopHandler and joins the layers
// below: HTTP requests and WebSocket frames from connections, chat ops to the room owner through
// the mesh, sequenced messages from the mesh into room replicas, and each replica's batch out to
// its viewers. Everything here runs on the shard's own thread; the only things other threads see
// are the mesh rings and the relaxed metric counters in ShardMetrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roomcast/client_op.h"
#include "roomcast/config.h"
#include "roomcast/http_parser.h"
#include "roomcast/mesh.h"
#include "roomcast/room_owner.h"
#include "roomcast/room_replica.h"
#include "roomcast/shard_loop.h"
#include "roomcast/ws_frame.h"
#include "server_shared.h"

namespace roomcast::server {

using io::ConnId;

enum class SessKind : uint8_t { kFree, kHttp, kWsJoining, kWs, kRefused };

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
};

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
  std::string RenderMetrics();

  // ws_front.cc
  bool HandleFrame(ConnId c, const ws::Frame& f);
  void HandleWsText(ConnId c, std::string_view text);
  void SendWsText(ConnId c, std::string_view json);
  void SendWsError(ConnId c, std::string_view code, std::string_view message);
  void CloseWs(ConnId c, ws::CloseCode code, std::string_view reason);

  // room_service.cc
  void Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op);
  void StartJoin(ConnId c, std::string_view room, uint32_t history);
  void LeaveRoom(ConnId c);
  void HandleItem(const mesh::Item& item);
  static void FreeItem(const mesh::Item& item);
  void OnPublish(int from, struct PublishReq* req);
  void OnAck(struct AckReply* ack);
  void OnForward(struct ForwardMsg* fwd);
  void OnJoin(int from, struct JoinReq* req);
  void OnJoinReply(struct JoinReply* rep);
  void OnLeave(int from, std::string* room, uint32_t count);
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
  std::vector<std::unique_ptr<Session[]>> sessions_;
  uint32_t max_slot_ = 0;
  std::vector<std::string> user_names_;  // per-connection user names (index in Session::user)
  std::vector<uint32_t> free_user_slots_;
  uint32_t max_conns_here_;
  uint64_t start_ms_ = 0;
  uint32_t clock_s_ = 0;
  uint64_t next_sweep_ms_ = 0;
  uint64_t next_metrics_ms_ = 0;
  uint64_t server_id_counter_ = 0;
  bool draining_ = false;
  // Local counters mirrored into metrics_ periodically.
  uint64_t ws_viewers_ = 0;
};

}  // namespace roomcast::server
