// One shard: the wiring of a shard loop. It implements io::LoopHandler and connects the layers:
// connection events go to the shard's session::Sessions (every protocol handler), whose bytes go
// out through a ConnOutput over the loop and whose asks go to the rooms' owners through a
// RoomClient over the mesh; the owner side of the rooms this shard sequences is an
// owner::OwnerService writing through an EventLog (the durable log with --data-dir). Everything
// here runs on the shard's own thread; the only things other threads see are the mesh rings and
// the relaxed metric counters in ShardMetrics.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "cluster/redis_rooms.h"
#include "io/shard_loop.h"
#include "mesh/mesh.h"
#include "mesh/messages.h"
#include "owner/cache_log.h"
#include "owner/event_log.h"
#include "owner/group_commit_log.h"
#include "owner/owner_service.h"
#include "server_shared.h"
#include "session/sessions.h"
#include "store/segment_log.h"

namespace roomcast::server {

// --redis with --data-dir: where the local cache's segment log lives (<data-dir>/cache).
[[nodiscard]] std::string CacheDir(const Config& cfg);

using io::ConnId;

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
  void OnConnected(uint32_t token, ConnId c, int res) override;

  // Before the shard threads start (main thread): opens this shard's durable log (repairs a
  // torn tail) and makes it the owner's EventLog; then replay puts logged events back into the
  // rooms this shard owns (OwnerService::RestoreEvent and friends). With --redis the log is the
  // local cache in <data-dir>/cache instead (owner::CacheLog; OwnerService::RestoreCopy).
  [[nodiscard]] int OpenLog(store::RecoveryReport* rep, std::string* error);
  owner::OwnerService& Owner() { return owner_; }

 private:
  // The sessions' seams, over this shard's loop and mesh.
  class LoopOutput final : public session::ConnOutput {
   public:
    explicit LoopOutput(io::Loop* loop) : loop_(*loop) {}
    uint32_t QueuedBytes(room::ViewerId v) override { return loop_.QueuedBytes(v); }
    void Enqueue(room::ViewerId v, SharedBuf* buf) override { loop_.Enqueue(v, buf); }
    uint32_t DropUnsent(room::ViewerId v, uint64_t* first, uint64_t* last) override;
    void CloseSlow(room::ViewerId v) override { loop_.Close(v, io::CloseMode::kAbort); }
    void EnqueueCopy(ConnId c, std::string bytes) override {
      loop_.EnqueueCopy(c, std::move(bytes));
    }
    void Close(ConnId c, session::CloseMode mode) override;
    [[nodiscard]] uint64_t NowMs() const override { return loop_.NowMs(); }

   private:
    io::Loop& loop_;
  };
  class MeshRooms final : public session::RoomClient, public session::ServerStatus {
   public:
    explicit MeshRooms(Shard* shard) : shard_(*shard) {}
    void Publish(mesh::PublishReq&& ask) override { Send(ask.room, std::move(ask)); }
    void Retract(mesh::RetractReq&& ask) override { Send(ask.room, std::move(ask)); }
    void Moderate(mesh::ModerateReq&& ask) override { Send(ask.room, std::move(ask)); }
    void Join(mesh::JoinReq&& ask) override { Send(ask.room, std::move(ask)); }
    void Leave(mesh::LeaveReq&& ask) override { Send(ask.room, std::move(ask)); }
    void History(mesh::HistoryReq&& ask) override { Send(ask.room, std::move(ask)); }
    void React(mesh::ReactReq&& ask) override { Send(ask.room, std::move(ask)); }
    void RoomStats(mesh::RoomStatsReq&& ask) override;
    void ReportLag(mesh::LagReport&& rep) override;
    [[nodiscard]] bool LogWritable() const override;
    [[nodiscard]] bool DrainNoticed() const override;
    [[nodiscard]] std::string RenderMetrics() override;

   private:
    // To the room's owner shard: `room` (inside the ask) is read before the ask is moved into
    // the message.
    template <typename Ask>
    void Send(const std::string& room, Ask&& ask) {
      const int owner = OwnerOf(room);
      SendTo(owner, mesh::Message(std::forward<Ask>(ask)));
    }
    [[nodiscard]] int OwnerOf(const std::string& room) const;
    void SendTo(int owner, mesh::Message&& msg);
    Shard& shard_;
  };
  // The owner's answers, to whichever shard asked.
  class MeshOutbox final : public owner::Outbox {
   public:
    explicit MeshOutbox(mesh::Endpoint* mesh) : mesh_(mesh) {}
    void Send(int shard, mesh::Message&& msg) override {
      mesh_->Send(shard, mesh::Pack(std::move(msg)));
    }

   private:
    mesh::Endpoint* mesh_;
  };

  // Every message another shard (or this one) sent us: one dispatch over mesh::Message.
  void HandleMessage(int from, mesh::Message& msg);
  std::string RenderMetrics();  // GET /metrics (service/metrics_text.h)
  void PublishMetrics();
  // Once a second: this shard's busiest owned rooms for /metrics (ShardMetrics::top_rooms).
  void PublishTopRooms(uint64_t now_ms);
  // live_settings.cc: takes the settings SIGHUP changed (admin key, CORS list).
  void ApplyLiveSettings();

  ServerShared* shared_;
  const Config& cfg_;
  int id_;
  io::Loop loop_;
  mesh::Endpoint mesh_;
  ShardMetrics& metrics_;
  MeshOutbox outbox_;
  owner::MemoryEventLog memory_log_;
  std::unique_ptr<owner::GroupCommitLog> durable_log_;  // with --data-dir
  std::unique_ptr<owner::CacheLog> cache_log_;          // ...and --redis: over durable_log_
  owner::OwnerService owner_;
  std::unique_ptr<cluster::RedisRooms> cluster_;  // --redis: Redis numbers the rooms' messages
  LoopOutput output_;
  MeshRooms rooms_;
  AccessLogWriter access_log_;  // --access-log: this shard's lines, written before it sleeps
  session::Sessions sessions_;
  uint64_t live_generation_ = 0;  // of the LiveSettings the sessions have
  uint64_t start_ms_ = 0;
  uint64_t next_sweep_ms_ = 0;
  uint64_t next_metrics_ms_ = 0;
};

}  // namespace roomcast::server
