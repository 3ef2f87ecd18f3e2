// Shard life: set-up, the loop callbacks, input dispatch by connection kind, the once-a-second
// sweep (handshake and keep-alive timeouts, WebSocket pings), and the drain at SIGTERM.
#include "shard.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/json_writer.h"
#include "base/log.h"
#include "sse/sse_event.h"

namespace roomcast::server {

namespace {

io::LoopOptions MakeLoopOptions(const Config& cfg, int id, int shards, uint32_t table_cap,
                                io::PeerCounts* peer_counts) {
  io::LoopOptions o;
  o.peer_counts = peer_counts;
  o.shard_id = id;
  o.cpu = id;  // pinned; the kernel refuses CPUs that do not exist, which is harmless
  o.listen_host = cfg.listen_host;
  o.listen_port = cfg.listen_port;
  // --max-conns is server-wide and SO_REUSEPORT spreads unevenly: one shard may hold all of it
  // when the descriptor limit allows (else as much as its table can), plus room to answer a few
  // over-limit connections with 503.
  o.max_conns = std::min(cfg.max_conns, table_cap) + 64;
  o.recv_buf_size = cfg.recv_buf_size;
  o.recv_buf_count = cfg.recv_buf_count;
  if (o.recv_buf_count == 0) {
    // Receive buffers are touched as the ring cycles, so they cost memory whether or not many
    // connections are busy: keep the whole server near 2 MiB however many shards it runs.
    uint32_t n = 64;
    while (n * 2 <= 512u / static_cast<uint32_t>(shards) && n < 256) n *= 2;
    o.recv_buf_count = n;
  }
  return o;
}

// --send-budget is per CPU core: shards that share cores (more shards than cores, as when the
// descriptor limit forces many small tables) share its budget, or together they would plan more
// sends than the cores can make.
uint32_t ShardSendBudget(uint32_t per_core, int shards) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) cpus = 1;
  if (shards <= cpus) return per_core;
  const uint64_t b =
      static_cast<uint64_t>(per_core) * static_cast<uint64_t>(cpus) / static_cast<uint64_t>(shards);
  return static_cast<uint32_t>(b < 1000 ? 1000 : b);
}

owner::OwnerOptions OwnerOptionsOf(const Config& cfg, int shards) {
  owner::OwnerOptions o;
  o.shards = shards;
  o.history = cfg.history;
  o.max_rooms = cfg.max_rooms;
  o.prio_history = cfg.prio_history;
  o.max_history_request = cfg.max_history_request;
  o.dedup_ms = static_cast<uint64_t>(cfg.dedup_secs) * 1000;
  o.dedup_max = cfg.dedup_max;
  return o;
}

}  // namespace

Shard::Shard(ServerShared* shared, int id)
    : shared_(shared),
      cfg_(shared->cfg),
      id_(id),
      loop_(MakeLoopOptions(shared->cfg, id, shared->shards, shared->shard_table_cap,
                            shared->peer_counts.get()),
            this),
      mesh_(&shared->mesh, id, &loop_),
      metrics_(shared->metrics[static_cast<size_t>(id)]),
      frame_reader_(shared->cfg.max_frame),
      replicas_(room::PacingPolicy{shared->cfg.tick_ms,
                                   ShardSendBudget(shared->cfg.send_budget, shared->shards)}),
      cursor_codec_(shared->cursor_key),
      outbox_(&mesh_),
      memory_log_(&outbox_),
      owner_(
          id, OwnerOptionsOf(shared->cfg, shared->shards), &memory_log_, &outbox_,
          owner::OwnerCounters{&metrics_.messages_sequenced_total, &metrics_.prio_sequenced_total,
                               &metrics_.messages_deduplicated_total, &metrics_.retractions_total}),
      sessions_(id) {
  cors_headers_.resize(256);
  cors_headers_[kCorsAny] = "Access-Control-Allow-Origin: *\r\n";
  std::string_view list = cfg_.cors_origins;
  for (size_t i = kCorsFirstListed; !list.empty() && list != "*" && i < kCorsDenied; ++i) {
    const size_t comma = list.find(',');
    std::string_view origin = list.substr(0, comma);
    while (!origin.empty() && origin.front() == ' ') origin.remove_prefix(1);
    while (!origin.empty() && origin.back() == ' ') origin.remove_suffix(1);
    cors_list_.emplace_back(origin);
    cors_headers_[i] =
        "Access-Control-Allow-Origin: " + std::string(origin) + "\r\nVary: Origin\r\n";
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  text_limits_.max_code_points = cfg_.max_text;
  http_limits_.max_head_bytes = cfg_.max_head;
  http_limits_.max_headers = cfg_.max_headers;
}

Shard::~Shard() = default;

int Shard::Init(std::string* error) {
  int rc = loop_.Init(error);
  if (rc == 0) shared_->mesh.Register(id_, &loop_);
  return rc;
}

void Shard::Run() {
  start_ms_ = loop_.NowMs();
  next_sweep_ms_ = start_ms_ + 1000;
  loop_.Run();
  if (durable_log_) durable_log_->Close();
  PublishMetrics();
  const io::LoopStats& ls = loop_.Stats();
  RC_INFO(id_,
          "stopped: accepted=%llu accept_errors=%llu refused_enfile=%llu enobufs=%llu "
          "sends=%llu",
          static_cast<unsigned long long>(ls.accepted),
          static_cast<unsigned long long>(ls.accept_errors),
          static_cast<unsigned long long>(ls.accept_refused_full),
          static_cast<unsigned long long>(ls.enobufs),
          static_cast<unsigned long long>(ls.send_calls));
}

void Shard::OnAccept(ConnId c) {
  Session& s = sessions_.Open(c, clock_s_);
  ShardMetrics::Add(metrics_.accepted_total, 1);
  const uint32_t live = shared_->live_conns.fetch_add(1, std::memory_order_relaxed) + 1;
  if (live > cfg_.max_conns || draining_) {
    // Over the configured limit: a clean refusal the client can read, then close.
    s.kind = SessKind::kRefused;
    ShardMetrics::Add(metrics_.refused_full_total, 1);
    loop_.EnqueueCopy(c, http::BuildJsonError(503, draining_ ? "draining" : "server_full",
                                              "no capacity here; retry later", false));
    loop_.Close(c, io::CloseMode::kGraceful);
  } else if (loop_.OverPeerCap(c)) {
    s.kind = SessKind::kRefused;  // the loop logged it (rate-limited)
    ShardMetrics::Add(metrics_.refused_per_ip_total, 1);
    loop_.EnqueueCopy(c, http::BuildJsonError(503, "too_many_connections",
                                              "this address holds --max-conns-per-ip "
                                              "connections; close one or retry later",
                                              false));
    loop_.Close(c, io::CloseMode::kGraceful);
  }
}

void Shard::OnRecv(ConnId c, std::span<const uint8_t> data) {
  Session& s = Sess(c);
  if (s.kind == SessKind::kFree || s.kind == SessKind::kRefused || (s.flags & kClosingSess)) return;
  s.last_active = clock_s_;
  s.flags &= static_cast<uint8_t>(~kPinged);
  ShardMetrics::Add(metrics_.bytes_in_total, data.size());
  if (s.pending && !s.pending->input.empty()) {
    // Join the held tail with the new bytes; the limits below bound how much is ever held.
    std::string buf = std::move(s.pending->input);
    s.pending->input.clear();
    buf.append(reinterpret_cast<const char*>(data.data()), data.size());
    ProcessInput(c, {reinterpret_cast<const uint8_t*>(buf.data()), buf.size()});
    return;
  }
  ProcessInput(c, data);
}

void Shard::ProcessInput(ConnId c, std::span<const uint8_t> data) {
  size_t off = 0;
  while (off < data.size()) {
    Session& s = Sess(c);
    if (s.flags & kClosingSess) return;
    size_t used = 0;
    if (s.kind == SessKind::kHttp) {
      if (s.flags & kAwaitingAck) break;  // pipelined input waits for the pending answer
      used = ProcessHttp(c, data.subspan(off));
    } else if (s.kind == SessKind::kWs || s.kind == SessKind::kWsJoining) {
      used = ProcessWs(c, data.subspan(off));
    } else if (s.kind == SessKind::kPollJoining || s.kind == SessKind::kPollParked) {
      break;  // a request pipelined behind a poll waits for the poll's answer
    } else {
      return;  // SSE streams and refused connections: a client has nothing to say here
    }
    if (used == 0) break;
    off += used;
  }
  Session& s = Sess(c);
  if (s.flags & kClosingSess) return;
  if (off > 0 && s.pending) s.pending->partial_request = false;  // what is left starts a new one
  SetPendingInput(c, data.subspan(off));
}

void Shard::ResumeHeldInput(ConnId c) {
  Session& s = Sess(c);
  if (s.kind != SessKind::kHttp || !s.pending || s.pending->input.empty()) return;
  std::string held = std::move(s.pending->input);
  s.pending->input.clear();
  ProcessInput(c, {reinterpret_cast<const uint8_t*>(held.data()), held.size()});
}

void Shard::SetPendingInput(ConnId c, std::span<const uint8_t> rest) {
  Session& s = Sess(c);
  if (rest.empty()) {
    if (s.pending && !s.pending->assembling) {
      s.pending.reset();
    } else if (s.pending) {
      s.pending->input.clear();
      s.pending->partial_request = false;
    }
    return;
  }
  if (rest.size() > static_cast<size_t>(cfg_.max_head) + cfg_.max_body + cfg_.max_frame + 16) {
    // More held input than any single request or frame can need: a misbehaving client.
    s.flags |= kClosingSess;
    if (s.kind == SessKind::kHttp && (s.flags & kAwaitingAck)) {
      // Pipelined behind a send that is being answered: that send was taken, so it gets its
      // answer (OnAck sees kClosingSess and closes after it); what was held was never read and
      // is dropped, for the client to send again on a new connection.
      RC_DEBUG(id_, "conn %u: %zu bytes pipelined behind a send: answering it, then closing", c,
               rest.size());
      s.pending.reset();
      return;
    }
    RC_DEBUG(id_, "conn %u: %zu bytes of held input, closing", c, rest.size());
    loop_.Close(c, io::CloseMode::kAbort);
    return;
  }
  PendingInput& p = session::SessionTable::Pending(s);
  if (!p.partial_request) {
    p.partial_request = true;
    p.since_s = clock_s_;
  }
  p.input.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
}

void Shard::OnPeerGone(ConnId c) {
  Session& s = Sess(c);
  s.flags |= kClosingSess;
}

void Shard::OnSendDrained(ConnId c) {
  if (!catchups_.empty()) AskNextPage(c);
}

void Shard::OnClosed(ConnId c) {
  shared_->live_conns.fetch_sub(1, std::memory_order_relaxed);
  Session& s = Sess(c);
  if (s.kind == SessKind::kWs || s.kind == SessKind::kSse || s.kind == SessKind::kPollParked) {
    LeaveRoom(c);
  }
  if (!catchups_.empty()) EndCatchUp(c);
  sessions_.Release(c);
}

void Shard::OnTurn(uint64_t now_ms) {
  clock_s_ = static_cast<uint32_t>((now_ms - start_ms_) / 1000);
  mesh_.Drain(4096, [this](const mesh::Item& it) {
    if (std::unique_ptr<mesh::Message> msg = mesh::Unpack(it)) {
      HandleMessage(static_cast<int>(it.from), *msg);
    } else {
      RC_ERROR(id_, "mesh item of unknown kind %u", it.kind);
    }
  });
  if (now_ms >= next_sweep_ms_) {
    next_sweep_ms_ = now_ms + 1000;
    Sweep();
    SweepPollRooms();
    PublishHotPollRooms();
    if (clock_s_ >= next_heartbeat_s_) {  // a late sweep still sends it, never skips one
      next_heartbeat_s_ = clock_s_ + cfg_.sse_heartbeat_secs;
      if (sse_viewers_ > 0) SseHeartbeat();
    }
  }
  if (now_ms >= next_metrics_ms_) {
    next_metrics_ms_ = now_ms + 250;
    PublishMetrics();
  }
}

uint32_t Shard::BeforeSleep(uint64_t now_ms) {
  ExpirePolls(now_ms);
  uint32_t wait = replicas_.FlushDue(now_ms, [this](uint32_t idx) { FlushReplica(idx); });
  if (!poll_timers_.empty()) {
    const uint64_t d = poll_timers_.front().deadline_ms;
    wait = std::min<uint64_t>(wait, d > now_ms ? d - now_ms : 0);
  }
  if (durable_log_) wait = std::min(wait, durable_log_->StartWrite(now_ms));
  mesh_.Flush();
  if (mesh_.HasOverflow()) wait = std::min<uint32_t>(wait, 1);
  const uint64_t to_sweep = next_sweep_ms_ > now_ms ? next_sweep_ms_ - now_ms : 0;
  return std::min<uint64_t>(wait, to_sweep);
}

bool Shard::HasInbound() { return mesh_.HasInbound(); }

void Shard::Sweep() {
  for (ConnId c = 0; c < sessions_.SlotBound(); ++c) {
    Session& s = Sess(c);
    if (s.kind == SessKind::kFree || s.kind == SessKind::kRefused || (s.flags & kClosingSess)) {
      continue;
    }
    // Whole seconds, sampled once a second: '>' so that nothing is closed before its time
    // (a limit of L seconds acts between L and L + 2 seconds).
    const uint32_t idle = clock_s_ - s.last_active;
    if (s.kind != SessKind::kHttp && s.kind != SessKind::kWs && s.kind != SessKind::kWsJoining) {
      continue;  // polls have their own deadline; SSE streams get heartbeats (SseHeartbeat)
    }
    if (s.kind == SessKind::kHttp) {
      if (s.flags & kAwaitingAck) continue;
      if (s.pending && s.pending->partial_request &&
          clock_s_ - s.pending->since_s > cfg_.handshake_timeout_secs) {
        // A request trickling in (slowloris): every byte resets the idle clock, not this one.
        RespondError(c, NoRequestForm(), 408, "request_timeout",
                     "the request did not arrive whole within --handshake-timeout-secs");
        continue;
      }
      const uint32_t limit =
          (s.flags & kSawRequest) ? cfg_.keepalive_secs : cfg_.handshake_timeout_secs;
      if (idle > limit) {
        s.flags |= kClosingSess;
        loop_.Close(c, io::CloseMode::kGraceful);
      }
      continue;
    }
    if (!(s.flags & kPinged) && idle > cfg_.ping_secs) {
      std::string frame;
      frame_writer_.Append(&frame, ws::Opcode::kPing, "rc");
      loop_.EnqueueCopy(c, std::move(frame));
      s.flags |= kPinged;
    } else if ((s.flags & kPinged) && idle > cfg_.ping_secs + cfg_.pong_timeout_secs) {
      CloseWs(c, ws::CloseCode::kGoingAway, "ping timeout");
    }
  }
}

void Shard::OnStopRequested() {
  draining_ = true;
  std::string bye = R"({"type":"bye","reconnect_ms":)";
  json::AppendUint(&bye, cfg_.bye_reconnect_ms);
  bye += '}';
  std::string frames;
  frame_writer_.Append(&frames, ws::Opcode::kText, bye);
  frame_writer_.AppendClose(&frames, ws::CloseCode::kGoingAway, "server draining");
  SharedBuf* buf = SharedBuf::Make(std::move(frames));
  std::string events;
  sse::AppendEvent(&events, "bye", false, 0, bye);
  SharedBuf* sse_bye = SharedBuf::Make(std::move(events));
  uint32_t said_bye = 0;
  for (ConnId c = 0; c < sessions_.SlotBound(); ++c) {
    Session& s = Sess(c);
    if (s.kind == SessKind::kFree || s.kind == SessKind::kRefused) continue;
    if (s.kind == SessKind::kWs || s.kind == SessKind::kWsJoining) {
      if (!(s.flags & kClosingSess)) {
        loop_.Enqueue(c, buf);
        ++said_bye;
      }
      s.flags |= kClosingSess;
      loop_.Close(c, io::CloseMode::kGraceful);
    } else if (s.kind == SessKind::kSse || s.kind == SessKind::kSseJoining) {
      if (!(s.flags & kClosingSess)) {
        loop_.Enqueue(c, sse_bye);
        ++said_bye;
      }
      s.flags |= kClosingSess;
      loop_.Close(c, io::CloseMode::kGraceful);
    } else if (s.kind == SessKind::kPollParked || s.kind == SessKind::kPollJoining) {
      if (!(s.flags & kClosingSess)) ++said_bye;
      DrainPoll(c);
    } else if (!(s.flags & kAwaitingAck)) {
      s.flags |= kClosingSess;
      loop_.Close(c, io::CloseMode::kGraceful);
    }
  }
  buf->Unref();
  sse_bye->Unref();
  RC_INFO(id_, "draining: bye sent to %u viewers, %u connections open", said_bye,
          loop_.LiveConns());
  loop_.Finish(loop_.NowMs() + cfg_.drain_secs * 1000ull);
}

void Shard::PublishMetrics() {
  const io::LoopStats& ls = loop_.Stats();
  ShardMetrics::Set(metrics_.connections, loop_.LiveConns());
  ShardMetrics::Set(metrics_.ws_viewers, ws_viewers_);
  ShardMetrics::Set(metrics_.bytes_out_total, ls.send_bytes);
  ShardMetrics::Set(metrics_.send_calls_total, ls.send_calls);
  ShardMetrics::Set(metrics_.recv_enobufs_total, ls.enobufs);
  ShardMetrics::Set(metrics_.loop_turns_total, ls.loop_turns);
  ShardMetrics::Set(metrics_.mesh_ring_full_total, mesh_.Stats().ring_full);
  ShardMetrics::Set(metrics_.mesh_wakeups_total, mesh_.Stats().wakeups);
  ShardMetrics::Set(metrics_.rooms_owned, owner_.RoomCount());
  if (durable_log_) {
    ShardMetrics::Set(metrics_.log_segments, durable_log_->SegmentCount());
    ShardMetrics::Set(metrics_.log_disk_bytes, durable_log_->TotalBytes());
  }
  ShardMetrics::Set(metrics_.room_replicas, replicas_.Count());
  ShardMetrics::Set(metrics_.sse_viewers, sse_viewers_);
  ShardMetrics::Set(metrics_.longpoll_parked, parked_);
  ShardMetrics::Set(metrics_.catchups, catchups_.size());
  ShardMetrics::Set(metrics_.catchup_queue_peak_bytes, catchup_queue_peak_);
}

}  // namespace roomcast::server
