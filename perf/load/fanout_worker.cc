// Fanout and storm worker: join, publish on schedule, check every delivery; storm: drop the storm
// group at its time and rejoin it at once.
#include "fanout_worker.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fanout_plan.h"
#include "http_viewers.h"
#include "nchan_wire.h"
#include "proc_stats.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load {

namespace {

constexpr uint64_t kLateNs = 5000000;      // a send this far behind schedule counts as late
constexpr uint64_t kMinWaitNs = 250000;    // pacing granularity: never wake more often
constexpr uint64_t kIdleWaitNs = 5000000;  // wait per loop turn when nothing is scheduled
constexpr uint32_t kNoPublisher = 0xffffffffu;

// What a connection counts for.
enum class Role : uint8_t {
  kCalm,       // loss, order and latency are checked (fanout: every receiving connection)
  kStorm,      // a storm-group viewer's first connection (dropped at the storm)
  kRejoined,   // a storm-group viewer's connection opened after the storm
  kBystander,  // storm, default grouping: a roomcast publisher of a storm room (receives)
  kSender,     // nchan publisher: HTTP only, receives no message
};

struct Publisher {
  uint32_t conn = 0;
  uint32_t global = 0;  // j
  uint32_t next_counter = 1;
  uint32_t first_measured = 0;  // counter of the first measured message; 0 until then
  uint32_t responses = 0;       // nchan: HTTP responses so far (they come in request order)
  uint64_t outstanding = 0;     // sent, neither acked nor refused
};

class FanoutWorker final : public ClientHandler, public HttpViewerSink {
 public:
  FanoutWorker(const Options& opt, SharedState* shared, uint32_t index, uint64_t deadline)
      : opt_(opt),
        shared_(shared),
        slot_(shared->Slot(index)),
        index_(index),
        workers_(shared->Workers()),
        deadline_(deadline),
        nchan_(opt.target.kind == TargetKind::kNchan),
        storm_(opt.scenario == Scenario::kStorm),
        http_viewers_(opt.transport != Transport::kWs),
        client_(opt.target, opt.source_ips, this),
        http_(opt, &client_, this) {}

  int Run();

  void OnOpen(uint32_t conn) override {
    if (nchan_) return MarkWelcomed(conn);  // nchan sends no welcome: the 101 (or connect) is it
    if (IsHttpViewer(conn)) http_.OnOpen(conn);
  }
  void OnText(uint32_t conn, std::string_view payload) override {
    OnObject(conn, Classify(payload), payload);
  }
  void OnFailed(uint32_t conn, FailStage stage, int err) override;
  size_t OnRaw(uint32_t conn, std::string_view data) override;
  // Long-poll and SSE viewers: joined at their first answer / welcome event; their objects get the
  // WebSocket viewers' checks.
  void OnViewerJoined(uint32_t conn) override { MarkWelcomed(conn); }
  void OnViewerObject(uint32_t conn, ServerKind kind, std::string_view object) override {
    OnObject(conn, kind, object);
  }

 private:
  void Plan();
  void AddConn(uint32_t room, uint32_t pub, Role role, uint64_t global);
  void OpenConn(uint32_t id);
  bool Join();  // false: past the deadline
  void SendOne(Publisher& p, uint64_t now);
  void MarkWelcomed(uint32_t conn);
  void OnStamp(uint32_t conn, const Stamp& st);
  void Acked(uint32_t conn, uint32_t counter);
  void Refused(uint32_t conn, std::string_view what);
  // One roomcast object (a WebSocket frame, a long-poll messages[] entry, an SSE event's data).
  void OnObject(uint32_t conn, ServerKind kind, std::string_view payload);
  [[nodiscard]] bool IsHttpViewer(uint32_t conn) const {
    return http_viewers_ && pub_of_conn_[conn] == kNoPublisher;
  }
  // UringClient::Poll with the HTTP viewers' waits: those due are sent first, and the wait for
  // completions ends no later than the next one.
  void PollClient(uint64_t deadline_ns) {
    if (http_viewers_) {
      http_.FireDue(NowNs());
      deadline_ns = std::min(deadline_ns, http_.NextDue());
    }
    client_.Poll(deadline_ns);
  }
  // Storm: drop the group now; then keep --storm-inflight rejoins connecting.
  void DropStormGroup();
  void StepRejoins();
  // One loop turn: the storm if due, rejoins, then completions until deadline_ns.
  void Turn(uint64_t deadline_ns);
  void Progress() {
    slot_.received.store(totals_.received - totals_.duplicates, std::memory_order_relaxed);
    slot_.outstanding.store(outstanding_, std::memory_order_relaxed);
    if (http_viewers_) {
      slot_.max_poll_wait_ms.store(http_.Counters().wait_ms_max, std::memory_order_relaxed);
    }
  }

  const Options& opt_;
  SharedState* shared_;
  WorkerSlot& slot_;
  uint32_t index_;
  uint32_t workers_;
  uint64_t deadline_;
  bool nchan_;
  bool storm_;
  bool http_viewers_;  // --transport longpoll or sse: viewers are HTTP, publishers WebSocket
  UringClient client_;
  HttpViewers http_;
  HttpViewerCounters http_at_measure_;
  // Per local connection id: local viewers first, then local publishers, then (storm) one
  // rejoin id per local storm viewer.
  std::vector<uint32_t> room_;
  std::vector<uint32_t> pub_of_conn_;  // index into pubs_, or kNoPublisher
  std::vector<Role> role_;
  std::vector<uint32_t> last_offset_;   // where the connection's last-counter row starts
  std::vector<uint32_t> last_counter_;  // per connection, per publisher of its room
  std::vector<uint8_t> welcomed_;
  std::vector<uint64_t> global_index_;  // viewer v or V + j: names and source addresses
  std::vector<Publisher> pubs_;
  uint32_t conns_ = 0;     // ids joined at the start (the rest are rejoin ids)
  uint64_t resolved_ = 0;  // of the first conns_: welcomed or failed
  uint64_t outstanding_ = 0;
  uint32_t failures_logged_ = 0;
  uint64_t measure_start_ns_ = ~uint64_t{0};
  // storm
  std::vector<uint32_t> storm_conns_;  // local storm viewers' first ids
  std::vector<uint32_t> rejoin_id_;    // parallel to storm_conns_
  std::vector<uint32_t> rejoins_;      // rejoin ids to open, in order
  uint64_t storm_at_ns_ = 0;
  bool storm_done_ = false;
  size_t rejoin_next_ = 0, rejoin_check_ = 0;
  uint64_t rejoin_resolved_ = 0;
  std::string op_, frame_, room_name_;
  std::string cid_suffix_;  // "-<run token>": cids never repeat across runs
  uint32_t mask_ = 0x2545f491u;
  WorkerTotals totals_;
};

void FanoutWorker::AddConn(uint32_t room, uint32_t pub, Role role, uint64_t global) {
  room_.push_back(room);
  pub_of_conn_.push_back(pub);
  role_.push_back(role);
  global_index_.push_back(global);
}

void FanoutWorker::Plan() {
  const uint32_t storm_rooms = storm_ ? StormRooms(opt_) : 0;
  for (uint64_t v = 0; v < opt_.viewers; ++v) {
    if (ViewerWorker(opt_, storm_, workers_, v) != index_) continue;
    const Role role = storm_ && InStormGroup(opt_, v) ? Role::kStorm : Role::kCalm;
    AddConn(static_cast<uint32_t>(v % opt_.rooms), kNoPublisher, role, v);
  }
  for (uint64_t j = 0; j < opt_.publishers; ++j) {
    if (PublisherWorker(opt_, storm_, workers_, j) != index_) continue;
    Publisher p;
    p.conn = static_cast<uint32_t>(room_.size());
    p.global = static_cast<uint32_t>(j);
    const uint32_t room = static_cast<uint32_t>(j % opt_.rooms);
    Role role = Role::kCalm;
    if (nchan_) {
      role = Role::kSender;
    } else if (room < storm_rooms) {
      role = Role::kBystander;
    }
    AddConn(room, static_cast<uint32_t>(pubs_.size()), role, opt_.viewers + j);
    pubs_.push_back(p);
  }
  conns_ = static_cast<uint32_t>(room_.size());
  for (uint32_t c = 0; c < conns_; ++c) {
    if (role_[c] != Role::kStorm) continue;
    storm_conns_.push_back(c);
    rejoin_id_.push_back(static_cast<uint32_t>(room_.size()));
    AddConn(room_[c], kNoPublisher, Role::kRejoined, global_index_[c]);
  }
  totals_.storm_viewers = storm_conns_.size();
  const size_t ids = room_.size();
  welcomed_.assign(ids, 0);
  last_offset_.resize(ids);
  size_t total = 0;
  for (size_t c = 0; c < ids; ++c) {
    last_offset_[c] = static_cast<uint32_t>(total);
    total += PublishersInRoom(opt_, room_[c]);
  }
  last_counter_.assign(total, 0);
}

void FanoutWorker::OpenConn(uint32_t id) {
  const bool pub = pub_of_conn_[id] != kNoPublisher;
  const uint64_t g = global_index_[id];
  room_name_ = "load-";
  room_name_ += std::to_string(room_[id]);
  if (nchan_) {
    if (pub) {
      client_.OpenRaw(id, g);
    } else {
      client_.Open(id, g, NchanSubscribeRequest(opt_.target, room_name_));
    }
  } else {
    std::string user(pub ? "p" : "v");
    user += std::to_string(pub ? g - opt_.viewers : g);
    if (IsHttpViewer(id)) {
      http_.Open(id, g, room_name_, user);
    } else {
      client_.Open(id, g, UpgradeRequest(opt_.target, room_name_, user));
    }
  }
}

bool FanoutWorker::Join() {
  uint32_t next = 0, check = 0;
  while (resolved_ < conns_) {
    const uint64_t now = NowNs();
    if (now >= deadline_) return false;
    while (next < conns_ && next - resolved_ < kMaxOpensInFlight) {
      OpenConn(next);
      slot_.opened.fetch_add(1, std::memory_order_relaxed);
      ++next;
    }
    PollClient(now + kIdleWaitNs);
    // Connections open in order, so the oldest unresolved ones are found from a moving cursor.
    const uint64_t limit = static_cast<uint64_t>(opt_.connect_timeout * 1e9);
    const uint64_t after = NowNs();
    while (check < next) {
      const ConnState s = client_.State(check);
      if (welcomed_[check] || s == ConnState::kClosed) {
        ++check;
        continue;
      }
      if (after - client_.OpenedAt(check) < limit) break;
      client_.Abort(check, FailStage::kTimeout);
      ++check;
    }
  }
  return true;
}

void FanoutWorker::MarkWelcomed(uint32_t conn) {
  if (welcomed_[conn]) return;
  welcomed_[conn] = 1;
  const uint64_t now = NowNs();
  if (role_[conn] == Role::kRejoined) {
    ++rejoin_resolved_;
    slot_.rejoined.fetch_add(1, std::memory_order_relaxed);
    slot_.rejoin_time.Record(now - client_.OpenedAt(conn));
    if (now > slot_.last_rejoin_ns.load(std::memory_order_relaxed))
      slot_.last_rejoin_ns.store(now, std::memory_order_relaxed);
    return;
  }
  ++resolved_;
  slot_.welcomed.fetch_add(1, std::memory_order_relaxed);
  slot_.connect_time.Record(now - client_.OpenedAt(conn));
  totals_.last_welcome_ns = std::max(totals_.last_welcome_ns, now);
}

void FanoutWorker::OnFailed(uint32_t conn, FailStage stage, int err) {
  if (role_[conn] == Role::kRejoined) {
    if (welcomed_[conn]) {
      ++totals_.rejoined_closed;
    } else {
      ++totals_.rejoin_failed_by_stage[static_cast<int>(stage)];
      ++rejoin_resolved_;
      slot_.rejoin_failed.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (welcomed_[conn]) {
    ++totals_.closed_after_welcome;
  } else {
    ++totals_.failed_by_stage[static_cast<int>(stage)];
    ++resolved_;
    if (++failures_logged_ <= 3) {
      std::fprintf(stderr, "roomcast-load: worker %u: connection failed at %s (errno %d)\n", index_,
                   FailStageName(stage), -err);
    }
  }
  slot_.failed.fetch_add(1, std::memory_order_relaxed);
  if (pub_of_conn_[conn] != kNoPublisher) {
    Publisher& p = pubs_[pub_of_conn_[conn]];
    outstanding_ -= p.outstanding;
    totals_.unacked += p.outstanding;  // they will never be acked now
    p.outstanding = 0;
  }
}

void FanoutWorker::Acked(uint32_t conn, uint32_t counter) {
  Publisher& p = pubs_[pub_of_conn_[conn]];
  if (p.outstanding) {
    --p.outstanding;
    --outstanding_;
  }
  if (p.first_measured && counter >= p.first_measured) {
    ++totals_.acked;
    shared_->Room(index_, room_[conn]).acked.fetch_add(1, std::memory_order_relaxed);
  }
}

void FanoutWorker::Refused(uint32_t conn, std::string_view what) {
  ++totals_.error_frames;
  Publisher& p = pubs_[pub_of_conn_[conn]];
  if (p.outstanding) {
    --p.outstanding;
    --outstanding_;
    ++totals_.unacked;
  }
  if (totals_.error_frames <= 3) {
    std::fprintf(stderr, "roomcast-load: worker %u: server error: %.*s\n", index_,
                 static_cast<int>(std::min<size_t>(what.size(), 200)), what.data());
  }
}

void FanoutWorker::OnObject(uint32_t conn, ServerKind kind, std::string_view payload) {
  Stamp st;
  if (nchan_) {  // the raw message body
    if (ParseStampText(payload, &st)) return OnStamp(conn, st);
    ++totals_.foreign;
    return;
  }
  switch (kind) {
    case ServerKind::kMsg:
      if (ParseMsgStamp(payload, &st)) return OnStamp(conn, st);
      ++totals_.foreign;
      return;
    case ServerKind::kAck: {
      uint32_t counter = 0;
      uint32_t pub = 0;
      if (pub_of_conn_[conn] == kNoPublisher ||
          !ParseAckCid(payload, cid_suffix_, &pub, &counter)) {
        ++totals_.other_frames;
        return;
      }
      return Acked(conn, counter);
    }
    case ServerKind::kWelcome:
      return MarkWelcomed(conn);
    case ServerKind::kGap:
      ++totals_.gap_frames;
      return;
    case ServerKind::kError:
      if (pub_of_conn_[conn] != kNoPublisher) return Refused(conn, payload);
      ++totals_.error_frames;
      return;
    case ServerKind::kPong:
    case ServerKind::kOther:
      ++totals_.other_frames;
      return;
  }
}

size_t FanoutWorker::OnRaw(uint32_t conn, std::string_view data) {
  if (IsHttpViewer(conn)) return http_.OnRaw(conn, data);
  return ForEachHttpResponse(
      data,
      [&](const HttpResponse& r, std::string_view whole) {
        if (pub_of_conn_[conn] == kNoPublisher) return true;
        Publisher& p = pubs_[pub_of_conn_[conn]];
        const uint32_t counter = ++p.responses;  // counters go 1, 2, ... in request order
        if (r.status >= 200 && r.status < 300) {
          Acked(conn, counter);
        } else {
          Refused(conn, whole);
        }
        return true;
      },
      [&](std::string_view rest) {
        std::fprintf(stderr, "roomcast-load: worker %u: bad HTTP response: %.*s\n", index_,
                     static_cast<int>(std::min<size_t>(rest.size(), 120)), rest.data());
        client_.Abort(conn, FailStage::kProtocol);  // data may be gone after this
      });
}

void FanoutWorker::OnStamp(uint32_t conn, const Stamp& st) {
  const uint32_t room = room_[conn];
  const Role role = role_[conn];
  if (role == Role::kSender || st.pub % opt_.rooms != room ||
      st.pub / opt_.rooms >= PublishersInRoom(opt_, room)) {
    ++totals_.foreign;
    return;
  }
  uint32_t& last = last_counter_[last_offset_[conn] + st.pub / opt_.rooms];
  const bool fresh = st.counter > last;
  // A rejoined connection starts in the middle of the sequence: its first counter is no gap.
  if (fresh && role == Role::kCalm && st.counter > last + 1)
    totals_.gap_lost += st.counter - last - 1;
  if (fresh) last = st.counter;
  if (st.send_ns < measure_start_ns_) {
    ++totals_.warmup_received;
    return;
  }
  const uint64_t now = NowNs();
  const uint64_t latency = now > st.send_ns ? now - st.send_ns : 0;
  if (role != Role::kCalm) {
    ++totals_.other_received;
    if (role == Role::kRejoined && fresh) slot_.rejoin_latency.Record(latency);
    return;
  }
  ++totals_.received;
  if (!fresh) {
    ++totals_.duplicates;
    return;
  }
  slot_.latency.Record(latency);
  if (!storm_) return;
  if (st.send_ns < storm_at_ns_) {
    slot_.calm_before.Record(latency);
    return;
  }
  const uint64_t whole = shared_->Ctl().whole_ns.load(std::memory_order_relaxed);
  if (whole == 0 || st.send_ns < whole) {
    slot_.calm_during.Record(latency);
  } else {
    slot_.calm_after.Record(latency);
  }
}

void FanoutWorker::SendOne(Publisher& p, uint64_t now) {
  if (client_.State(p.conn) != ConnState::kOpen) {
    ++totals_.skipped_sends;
    return;
  }
  const uint32_t counter = p.next_counter++;
  const bool measured = now >= measure_start_ns_;
  if (measured) {
    if (!p.first_measured) p.first_measured = counter;
    ++totals_.sent;
  } else {
    ++totals_.warmup_sent;
  }
  frame_.clear();
  if (nchan_) {
    room_name_ = "load-";
    room_name_ += std::to_string(room_[p.conn]);
    AppendNchanPublish(&frame_, opt_.target, room_name_, now, p.global, counter, opt_.size);
  } else {
    op_.clear();
    AppendSendOp(&op_, now, p.global, counter, opt_.size, cid_suffix_);
    AppendClientFrame(&frame_, WsOpcode::kText, op_, mask_);
    mask_ = mask_ * 1664525u + 1013904223u;
  }
  client_.Send(p.conn, frame_);
  ++p.outstanding;
  ++outstanding_;
}

void FanoutWorker::DropStormGroup() {
  storm_done_ = true;
  uint64_t dropped = 0;
  // Every open member of the group goes first, then the rejoins start: "at once".
  for (size_t i = 0; i < storm_conns_.size(); ++i) {
    const uint32_t c = storm_conns_[i];
    if (!welcomed_[c] || client_.State(c) != ConnState::kOpen) continue;
    client_.Close(c);
    rejoins_.push_back(rejoin_id_[i]);
    ++dropped;
  }
  slot_.storm_dropped.store(dropped, std::memory_order_relaxed);
  slot_.stormed.store(1, std::memory_order_release);
  StepRejoins();
}

void FanoutWorker::StepRejoins() {
  while (rejoin_next_ < rejoins_.size() && rejoin_next_ - rejoin_resolved_ < opt_.storm_inflight) {
    OpenConn(rejoins_[rejoin_next_++]);
  }
  const uint64_t limit = static_cast<uint64_t>(opt_.connect_timeout * 1e9);
  const uint64_t now = NowNs();
  while (rejoin_check_ < rejoin_next_) {
    const uint32_t id = rejoins_[rejoin_check_];
    if (welcomed_[id] || client_.State(id) == ConnState::kClosed) {
      ++rejoin_check_;
      continue;
    }
    if (now - client_.OpenedAt(id) < limit) break;
    client_.Abort(id, FailStage::kTimeout);
    ++rejoin_check_;
  }
}

void FanoutWorker::Turn(uint64_t deadline_ns) {
  if (storm_ && !storm_done_ && NowNs() >= storm_at_ns_) DropStormGroup();
  if (storm_done_) StepRejoins();
  if (storm_ && !storm_done_) deadline_ns = std::min(deadline_ns, storm_at_ns_);
  PollClient(deadline_ns);
}

int FanoutWorker::Run() {
  Plan();
  std::string err;
  if (!client_.Init(std::max<uint32_t>(static_cast<uint32_t>(room_.size()), 1), &err)) {
    std::fprintf(stderr, "roomcast-load: worker %u: %s\n", index_, err.c_str());
    return 2;
  }
  if (http_viewers_) http_.Init(static_cast<uint32_t>(room_.size()));
  const bool joined = Join();
  // Calm members per room at go time: every calm connection that joined and is still open.
  for (uint32_t c = 0; c < conns_; ++c) {
    if (role_[c] == Role::kCalm && welcomed_[c] && client_.State(c) == ConnState::kOpen) {
      shared_->Room(index_, room_[c]).members++;
      ++totals_.calm_conns;
    }
  }
  slot_.stage.store(static_cast<uint32_t>(Stage::kReady), std::memory_order_release);
  if (!joined) std::fprintf(stderr, "roomcast-load: worker %u: deadline while joining\n", index_);

  Control& ctl = shared_->Ctl();
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kGo) &&
         NowNs() < deadline_) {
    PollClient(NowNs() + 2000000);
  }
  const uint64_t start = ctl.publish_start_ns, end = ctl.publish_end_ns;
  // The run token: cids never repeat across runs on one server, whose dedup window would answer
  // a repeated cid with its first ack and not deliver it again.
  char token[24];
  std::snprintf(token, sizeof token, "-%llx", static_cast<unsigned long long>(start));
  cid_suffix_ = token;
  const uint64_t measure = ctl.measure_start_ns;
  measure_start_ns_ = measure;  // every worker judges stamps against the same instant
  storm_at_ns_ = ctl.storm_at_ns;
  if (storm_at_ns_ == 0) storm_ = false;  // the parent did not schedule one (nothing to measure)
  const double period_ns = opt_.rate > 0 ? 1e9 / opt_.rate : 0;
  const uint64_t p_total = opt_.publishers;
  uint64_t g = 0;
  double cpu_at_measure = -1;
  // Every message scheduled before `end` is sent, even when the loop wakes after `end`.
  for (uint64_t now = NowNs(); now < deadline_; now = NowNs()) {
    if (now >= measure && cpu_at_measure < 0) {
      cpu_at_measure = RusageCpuSeconds(RUSAGE_SELF);
      http_.StartWindow();
      http_at_measure_ = http_.Counters();
    }
    uint64_t next_at = end;
    bool exhausted = p_total == 0;
    while (!exhausted) {
      const uint64_t at = start + static_cast<uint64_t>(static_cast<double>(g) * period_ns);
      if (at >= end) {
        exhausted = true;
        break;
      }
      if (at > now) {
        next_at = at;
        break;
      }
      const uint64_t j = g % p_total;
      if (PublisherWorker(opt_, storm_, workers_, j) == index_) {
        if (now - at > kLateNs) ++totals_.late_sends;
        SendOne(pubs_[PublisherSlot(opt_, storm_, workers_, j)], now);
      }
      ++g;
    }
    if (exhausted && now >= end) break;
    Turn(std::max(next_at, now + kMinWaitNs));
    Progress();
  }
  if (cpu_at_measure < 0) {
    cpu_at_measure = RusageCpuSeconds(RUSAGE_SELF);
    http_.StartWindow();
    http_at_measure_ = http_.Counters();
  }
  totals_.http_window = http_.Counters().Since(http_at_measure_);
  // Stragglers: acks still on their way.
  const uint64_t straggle_end = end + static_cast<uint64_t>(opt_.straggler_secs * 1e9);
  while (outstanding_ > 0 && NowNs() < std::min(straggle_end, deadline_)) {
    Turn(NowNs() + 1000000);
    Progress();
  }
  slot_.stage.store(static_cast<uint32_t>(Stage::kPublished), std::memory_order_release);
  // Deliveries (and rejoins) still on their way: the parent decides when it has seen enough.
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kFinish) &&
         NowNs() < deadline_) {
    Turn(NowNs() + 1000000);
    Progress();
  }
  Progress();
  const double cpu_now = RusageCpuSeconds(RUSAGE_SELF);
  totals_.cpu_window_s = cpu_now - cpu_at_measure;
  totals_.cpu_total_s = cpu_now;
  totals_.unacked += outstanding_;
  totals_.client = client_.Counters();
  totals_.http = http_.Counters();
  slot_.totals = totals_;
  slot_.stage.store(static_cast<uint32_t>(Stage::kDone), std::memory_order_release);
  client_.CloseAll();
  return 0;
}

}  // namespace

int RunFanoutWorker(const Options& opt, SharedState* shared, uint32_t index,
                    uint64_t hard_deadline_ns) {
  FanoutWorker w(opt, shared, index, hard_deadline_ns);
  return w.Run();
}

}  // namespace roomcast::load
