// Sessions: all of one shard's connections above the loop. The shard (server::Shard) hands it
// connection events (accepted, bytes received, send queue drained, peer gone, closed), the owner's
// answers and forwards, and the clock; it answers through the ConnOutput and asks rooms through
// the RoomClient, so the whole of it runs in a unit test or a fuzz target on byte strings.
//
// Input goes to the handler of the connection's current state (SessionTable's SessKind): plain
// HTTP (HttpSession) until a request turns the connection into a WebSocket (WsSession), an SSE
// stream (SseSession) or a long-poll (PollSession, back to HTTP once answered). Input that is not
// whole yet, or that arrives behind a request waiting for its answer, is held (PendingInput),
// bounded by one head + body + frame. Shard thread only.
#pragma once

#include <cstdint>
#include <span>

#include "admin_session.h"
#include "context.h"
#include "http_session.h"
#include "poll_session.h"
#include "sse_session.h"
#include "viewers.h"
#include "ws_session.h"

namespace roomcast::session {

class Sessions final : public HeldInput {
 public:
  Sessions(const Config& cfg, const SessionOptions& o, ConnOutput* out, RoomClient* rooms,
           ServerStatus* status, ShardMetrics* metrics);
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // Connection events.
  void OnAccept(ConnId c);
  // An accepted connection over the limit (or during a drain): a 503 the client can read, then
  // a close.
  void Refuse(ConnId c);
  // An accepted connection from an address that holds --max-conns-per-ip already: a 503
  // too_many_connections, then a close.
  void RefusePerAddress(ConnId c);
  void OnRecv(ConnId c, std::span<const uint8_t> data);
  void OnPeerGone(ConnId c);
  void OnSendDrained(ConnId c);
  void OnClosed(ConnId c);

  // The owner's answers and forwards (from the RoomClient's transport).
  void OnAnswer(mesh::AckReply& ack);
  // A shadow-banned user's message: to that user's viewers of the room on this shard only.
  void OnShadowEcho(const mesh::ShadowEcho& echo);
  // A hot room's `sampled` marker for the room's stream viewers here.
  void OnRoomNotice(const mesh::RoomNotice& notice);
  void OnAnswer(mesh::JoinReply& rep);
  void OnAnswer(mesh::HistoryReply& rep);
  void OnForward(mesh::ForwardMsg& fwd);

  // The clock: whole seconds since start (idle limits); once a second, the sweep (timeouts,
  // pings, SSE heartbeats, long-poll room state).
  void SetClock(uint32_t clock_s) { ctx_.clock_s = clock_s; }
  void OnSecond();
  // Before the loop sleeps: ends expired polls, flushes due replicas; the ms it may sleep.
  uint32_t BeforeSleep(uint64_t now_ms);
  // A stop was requested: bye to every viewer, everything closes after its answer. Returns how
  // many viewers were told.
  uint32_t Drain();
  [[nodiscard]] bool Draining() const { return ctx_.draining; }
  // The settings SIGHUP may change (the admin key, the CORS list).
  void ApplyLiveSettings(std::string_view admin_key, std::string_view cors_origins) {
    ctx_.ApplyLiveSettings(admin_key, cors_origins);
  }

  // HeldInput: goes on with requests that were held behind an answer this connection waited for.
  void ResumeHeldInput(ConnId c) override;

  // For /metrics.
  struct Stats {
    uint64_t ws_viewers, sse_viewers, parked, catchups, catchup_queue_peak, replicas;
  };
  [[nodiscard]] Stats GetStats() const;

 private:
  void ProcessInput(ConnId c, std::span<const uint8_t> data);
  void SetPendingInput(ConnId c, std::span<const uint8_t> rest);
  void LeaveRoom(ConnId c);
  void SweepHttp(ConnId c, uint32_t idle_s);

  Context ctx_;
  PollSession poll_;
  Viewers viewers_;
  WsSession ws_;
  SseSession sse_;
  AdminSession admin_;
  HttpSession http_;
  uint32_t next_heartbeat_s_ = 0;  // shard clock second of the next SSE heartbeat
};

}  // namespace roomcast::session
