// Shard life: set-up, the loop callbacks handed to the sessions, the mesh dispatch (owner asks to
// the OwnerService, answers and forwards to the sessions), the clock, and the drain at SIGTERM.
#include "shard.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "access_log_setup.h"
#include "base/log.h"
#include "service/metrics_text.h"

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
  o.mod_policy.rate = room::RateSpec{cfg.rate_limit.count, cfg.rate_limit.secs};
  o.mod_policy.mod_rate = room::RateSpec{cfg.mod_rate_limit.count, cfg.mod_rate_limit.secs};
  o.mod_policy.unique_window_secs = cfg.unique_window_secs;
  o.mod_policy.react_rate = room::RateSpec{cfg.react_rate_limit.count, cfg.react_rate_limit.secs};
  o.pulse.reaction_window_ms = cfg.reaction_window_ms;
  o.pulse.state_interval_ms = cfg.state_interval_ms;
  o.pulse.react_rate = o.mod_policy.react_rate;
  o.presence = cfg.presence;
  o.hot.hot_msgs_per_sec = cfg.hot_msgs_per_sec;
  o.hot.max_visible_rate = cfg.max_visible_rate;
  o.hot.cool_down_secs = cfg.hot_cool_down_secs;
  return o;
}

std::unique_ptr<cluster::RedisRooms> MakeCluster(const Config& cfg, io::Loop* loop,
                                                 owner::OwnerService* owner, owner::Outbox* out,
                                                 ShardMetrics& m) {
  if (cfg.redis.empty()) return nullptr;
  cluster::ClusterOptions o;
  std::string err;
  (void)base::ParseRedisAddresses(cfg.redis, &o.addrs, &err);  // checked with the settings
  o.history = cfg.history;
  o.dedup_secs = cfg.dedup_secs;
  o.probe_ms = cfg.redis_probe_ms;
  auto rooms = std::make_unique<cluster::RedisRooms>(
      loop, o, owner, out,
      cluster::ClusterCounters{&m.redis_messages_received_total, &m.redis_publishes_total,
                               &m.redis_publish_refused_total, &m.redis_stream_reads_total,
                               &m.redis_repairs_total, &m.redis_subscribed_rooms,
                               &m.messages_deduplicated_total, &m.redis_probes_total,
                               &m.redis_probe_reconnects_total, &m.redis_stream_events_total,
                               &m.redis_copy_resets_total});
  owner->UseSequencing(rooms.get());
  return rooms;
}

session::SessionOptions SessionOptionsOf(const ServerShared& shared, int id,
                                         AccessLogWriter* access_log) {
  session::SessionOptions o;
  if (!shared.cfg.access_log.empty()) o.access_log = access_log;
  o.shard = id;
  o.shards = shared.shards;
  o.cursor_key = shared.cursor_key;
  o.token_keys = &shared.token_keys;
  o.pacing = room::PacingPolicy{shared.cfg.tick_ms,
                                ShardSendBudget(shared.cfg.send_budget, shared.shards)};
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
      outbox_(&mesh_),
      memory_log_(&outbox_),
      owner_(
          id, OwnerOptionsOf(shared->cfg, shared->shards), &memory_log_, &outbox_,
          owner::OwnerCounters{&metrics_.messages_sequenced_total, &metrics_.prio_sequenced_total,
                               &metrics_.messages_deduplicated_total, &metrics_.retractions_total,
                               &metrics_.moderation_refused_total, &metrics_.reactions_total,
                               &metrics_.reactions_refused_total}),
      cluster_(MakeCluster(shared->cfg, &loop_, &owner_, &outbox_, metrics_)),
      output_(&loop_),
      rooms_(this),
      access_log_(id, &metrics_.access_log_write_errors_total, &metrics_.access_log_dropped_total),
      sessions_(shared->cfg, SessionOptionsOf(*shared, id, &access_log_), &output_, &rooms_,
                &rooms_, &metrics_) {
  ApplyLiveSettings();
}

Shard::~Shard() = default;

uint32_t Shard::LoopOutput::DropUnsent(room::ViewerId v, uint64_t* first, uint64_t* last) {
  uint32_t kept = 0;
  loop_.DropUnsent(v, first, last, &kept);
  return kept;
}

void Shard::LoopOutput::Close(ConnId c, session::CloseMode mode) {
  loop_.Close(
      c, mode == session::CloseMode::kAbort ? io::CloseMode::kAbort : io::CloseMode::kGraceful);
}

int Shard::MeshRooms::OwnerOf(const std::string& room) const {
  return room::OwnerShardOf(room, shard_.shared_->shards);
}

void Shard::MeshRooms::SendTo(int owner, mesh::Message&& msg) {
  shard_.mesh_.Send(owner, mesh::Pack(std::move(msg)));
}

void Shard::MeshRooms::RoomStats(mesh::RoomStatsReq&& ask) {
  if (!ask.room.empty()) return Send(ask.room, std::move(ask));
  for (int s = 0; s < shard_.shared_->shards; ++s) SendTo(s, mesh::RoomStatsReq(ask));
}

void Shard::MeshRooms::ReportLag(mesh::LagReport&& rep) {
  // One report per owner shard, naming only its rooms.
  std::vector<mesh::LagReport> by_owner(static_cast<size_t>(shard_.shared_->shards));
  for (auto& room : rep.rooms) {
    by_owner[static_cast<size_t>(OwnerOf(room.first))].rooms.push_back(std::move(room));
  }
  for (size_t s = 0; s < by_owner.size(); ++s) {
    if (!by_owner[s].rooms.empty()) SendTo(static_cast<int>(s), std::move(by_owner[s]));
  }
}

std::string Shard::MeshRooms::RenderMetrics() { return shard_.RenderMetrics(); }

bool Shard::MeshRooms::LogWritable() const {
  return shard_.shared_->logs_broken.load(std::memory_order_relaxed) == 0;
}

bool Shard::MeshRooms::DrainNoticed() const {
  return shard_.shared_->drain_notice.load(std::memory_order_relaxed);
}

int Shard::Init(std::string* error) {
  int rc = loop_.Init(error);
  if (rc == 0) shared_->mesh.Register(id_, &loop_);
  return rc;
}

void Shard::Run() {
  start_ms_ = loop_.NowMs();
  next_sweep_ms_ = start_ms_ + 1000;
  loop_.Run();
  access_log_.Flush(loop_.NowMs());
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
  sessions_.OnAccept(c);
  ShardMetrics::Add(metrics_.accepted_total, 1);
  const uint32_t live = shared_->live_conns.fetch_add(1, std::memory_order_relaxed) + 1;
  if (live > cfg_.max_conns || sessions_.Draining()) {
    // Over the configured limit: a clean refusal the client can read, then close.
    ShardMetrics::Add(metrics_.refused_full_total, 1);
    sessions_.Refuse(c);
  } else if (loop_.OverPeerCap(c)) {
    ShardMetrics::Add(metrics_.refused_per_ip_total, 1);  // the loop logged it (rate-limited)
    sessions_.RefusePerAddress(c);
  }
}

void Shard::OnRecv(ConnId c, std::span<const uint8_t> data) {
  if (cluster_ && cluster_->OnRecv(c, data)) return;
  sessions_.OnRecv(c, data);
}

void Shard::OnPeerGone(ConnId c) {
  if (cluster_ && cluster_->OnPeerGone(c)) return;
  sessions_.OnPeerGone(c);
}

void Shard::OnConnected(uint32_t token, ConnId c, int res) {
  if (cluster_) (void)cluster_->OnConnected(token, c, res);
}

void Shard::OnSendDrained(ConnId c) { sessions_.OnSendDrained(c); }

void Shard::OnClosed(ConnId c) {
  if (cluster_ && cluster_->OnClosed(c)) return;  // a Redis link (never counted as a client)
  shared_->live_conns.fetch_sub(1, std::memory_order_relaxed);
  sessions_.OnClosed(c);
}

void Shard::OnTurn(uint64_t now_ms) {
  sessions_.SetClock(static_cast<uint32_t>((now_ms - start_ms_) / 1000));
  ShardMetrics::Set(metrics_.heartbeat_ms, now_ms);
  if (shared_->live_generation.load(std::memory_order_acquire) != live_generation_) {
    ApplyLiveSettings();
  }
  mesh_.Drain(4096, [this](const mesh::Item& it) {
    if (std::unique_ptr<mesh::Message> msg = mesh::Unpack(it)) {
      HandleMessage(static_cast<int>(it.from), *msg);
    } else {
      RC_ERROR(id_, "mesh item of unknown kind %u", it.kind);
    }
  });
  owner_.OnTurn(now_ms);
  if (now_ms >= next_sweep_ms_) {
    next_sweep_ms_ = now_ms + 1000;
    sessions_.OnSecond();
    owner_.OnSecond(static_cast<int64_t>(UnixSecondsNow() * 1000), now_ms);
    PublishTopRooms(now_ms);
  }
  if (now_ms >= next_metrics_ms_) {
    next_metrics_ms_ = now_ms + 250;
    PublishMetrics();
  }
}

void Shard::HandleMessage(int from, mesh::Message& msg) {
  const uint64_t now = loop_.NowMs();
  std::visit(mesh::Visitor{
                 [&](mesh::PublishReq& m) { owner_.OnPublish(from, m, now); },
                 [&](mesh::RetractReq& m) { owner_.OnRetract(from, m, now); },
                 [&](mesh::ModerateReq& m) { owner_.OnModerate(from, m, now); },
                 [&](mesh::JoinReq& m) { owner_.OnJoin(from, m, now); },
                 [&](mesh::LeaveReq& m) { owner_.OnLeave(from, m); },
                 [&](mesh::HistoryReq& m) { owner_.OnHistory(from, m); },
                 [&](mesh::RoomStatsReq& m) { owner_.OnRoomStats(from, m, now); },
                 [&](mesh::LagReport& m) { owner_.OnLagReport(from, m, now); },
                 [&](mesh::RoomStatsReply& m) { sessions_.OnAnswer(m); },
                 [&](mesh::AckReply& m) { sessions_.OnAnswer(m); },
                 [&](mesh::JoinReply& m) { sessions_.OnAnswer(m); },
                 [&](mesh::HistoryReply& m) { sessions_.OnAnswer(m); },
                 [&](mesh::ForwardMsg& m) { sessions_.OnForward(m); },
                 [&](mesh::ShadowEcho& m) { sessions_.OnShadowEcho(m); },
                 [&](mesh::ReactReq& m) { owner_.OnReact(from, m, now); },
                 [&](mesh::RoomEvent& m) { sessions_.OnRoomEvent(m); },
             },
             msg);
}

void Shard::PublishTopRooms(uint64_t now_ms) {
  const size_t n = cfg_.presence ? cfg_.metrics_top_rooms : 0;
  // Nothing to show and nothing shown: no swap (most servers' quiet seconds).
  if (n == 0 && !metrics_.top_rooms.load()) return;
  std::vector<TopRoom> top = owner_.TopRooms(n, now_ms);
  metrics_.top_rooms.store(
      top.empty() ? nullptr : std::make_shared<const std::vector<TopRoom>>(std::move(top)));
}

void Shard::DiscardInFlight() {
  mesh_.DiscardAll([](const mesh::Item& it) { (void)mesh::Unpack(it); });
}

uint32_t Shard::BeforeSleep(uint64_t now_ms) {
  uint32_t wait = sessions_.BeforeSleep(now_ms);
  access_log_.Flush(now_ms);
  if (durable_log_) wait = std::min(wait, durable_log_->StartWrite(now_ms));
  if (cluster_) wait = std::min(wait, cluster_->BeforeSleep(now_ms));
  mesh_.Flush();
  if (mesh_.HasOverflow()) wait = std::min<uint32_t>(wait, 1);
  const uint64_t to_sweep = next_sweep_ms_ > now_ms ? next_sweep_ms_ - now_ms : 0;
  const uint64_t pulse = owner_.NextDueMs();  // reactions windows, presence states
  const uint64_t to_pulse = pulse > now_ms ? pulse - now_ms : 0;
  return static_cast<uint32_t>(std::min({static_cast<uint64_t>(wait), to_sweep, to_pulse}));
}

bool Shard::HasInbound() { return mesh_.HasInbound(); }

void Shard::OnStopRequested() {
  const uint32_t said_bye = sessions_.Drain();
  if (cluster_) cluster_->Stop();
  RC_INFO(id_, "draining: bye sent to %u viewers, %u connections open", said_bye,
          loop_.LiveConns());
  loop_.Finish(loop_.NowMs() + cfg_.drain_secs * 1000ull);
}

std::string Shard::RenderMetrics() {
  PublishMetrics();  // our own figures are current; the others are at most 250 ms old
  return RenderMetricsText(shared_->metrics.get(), shared_->shards, shared_->start_unix_s,
                           cfg_.metrics_top_rooms);
}

void Shard::PublishMetrics() {
  const io::LoopStats& ls = loop_.Stats();
  const session::Sessions::Stats ss = sessions_.GetStats();
  ShardMetrics::Set(metrics_.connections, loop_.LiveConns());
  ShardMetrics::Set(metrics_.ws_viewers, ss.ws_viewers);
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
  ShardMetrics::Set(metrics_.room_replicas, ss.replicas);
  ShardMetrics::Set(metrics_.sse_viewers, ss.sse_viewers);
  ShardMetrics::Set(metrics_.longpoll_parked, ss.parked);
  ShardMetrics::Set(metrics_.catchups, ss.catchups);
  ShardMetrics::Set(metrics_.catchup_queue_peak_bytes, ss.catchup_queue_peak);
}

}  // namespace roomcast::server
