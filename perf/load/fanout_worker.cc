// Fanout and storm worker: plan its share, join, publish on schedule; storm: drop the storm group
// at its time and rejoin it at once. What it does with what it receives: fanout_checks.cc.
#include "fanout_worker.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fanout_plan.h"
#include "fanout_worker_internal.h"
#include "http_viewers.h"
#include "nchan_wire.h"
#include "proc_stats.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load {

namespace fanout_internal {

namespace {

constexpr uint64_t kLateNs = 5000000;      // a send this far behind schedule counts as late
constexpr uint64_t kMinWaitNs = 250000;    // pacing granularity: never wake more often
constexpr uint64_t kIdleWaitNs = 5000000;  // wait per loop turn when nothing is scheduled

}  // namespace

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
  member_.assign(ids, 0);
  got_.assign(ids, 0);
  dups_.assign(ids, 0);
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
    if (pub && opt_.nchan_publish == NchanPublish::kHttp) {
      client_.OpenRaw(id, g);
    } else if (pub) {
      client_.Open(id, g, NchanPublisherRequest(opt_.target, room_name_));
    } else {
      client_.Open(id, g, NchanSubscribeRequest(opt_.target, room_name_));
    }
  } else {
    std::string user(pub ? "p" : "v");
    user += std::to_string(pub ? g - opt_.viewers : g);
    if (IsHttpViewer(id)) {
      http_.Open(id, g, room_name_, user);
    } else {
      client_.Open(id, g, UpgradeRequest(WorkerTarget(opt_, index_), room_name_, user));
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
    shared_->Room(index_, room_[p.conn]).sent.fetch_add(1, std::memory_order_relaxed);
  } else {
    ++totals_.warmup_sent;
  }
  frame_.clear();
  if (nchan_ && opt_.nchan_publish == NchanPublish::kHttp) {
    room_name_ = "load-";
    room_name_ += std::to_string(room_[p.conn]);
    AppendNchanPublish(&frame_, opt_.target, room_name_, now, p.global, counter, opt_.size);
  } else if (nchan_) {  // a WebSocket publisher: the stamped text is the message
    op_.clear();
    AppendStampText(&op_, now, p.global, counter, opt_.size);
    AppendClientFrame(&frame_, WsOpcode::kText, op_, mask_);
    mask_ = mask_ * 1664525u + 1013904223u;
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
  JoinAndCountMembers();
  WaitForGo();
  AdoptSchedule();
  PublishOnSchedule();
  StartWindow();  // a run that ended before the window still reports from here
  totals_.http_window = http_.Counters().Since(http_at_measure_);
  WaitForAcks();
  slot_.stage.store(static_cast<uint32_t>(Stage::kPublished), std::memory_order_release);
  ReceiveUntilFinish();
  ReportTotals();
  client_.CloseAll();
  return 0;
}

void FanoutWorker::JoinAndCountMembers() {
  const bool joined = Join();
  // Calm members per room at go time: every calm connection that joined and is still open.
  for (uint32_t c = 0; c < conns_; ++c) {
    if (role_[c] == Role::kCalm && welcomed_[c] && client_.State(c) == ConnState::kOpen) {
      member_[c] = 1;
      shared_->Room(index_, room_[c]).members++;
      ++totals_.calm_conns;
    }
  }
  slot_.stage.store(static_cast<uint32_t>(Stage::kReady), std::memory_order_release);
  if (!joined) std::fprintf(stderr, "roomcast-load: worker %u: deadline while joining\n", index_);
}

void FanoutWorker::WaitForGo() {
  const Control& ctl = shared_->Ctl();
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kGo) &&
         NowNs() < deadline_) {
    PollClient(NowNs() + 2000000);
  }
}

void FanoutWorker::AdoptSchedule() {
  const Control& ctl = shared_->Ctl();
  publish_start_ns_ = ctl.publish_start_ns;
  publish_end_ns_ = ctl.publish_end_ns;
  // The run token: cids never repeat across runs on one server, whose dedup window would answer
  // a repeated cid with its first ack and not deliver it again.
  char token[24];
  std::snprintf(token, sizeof token, "-%llx", static_cast<unsigned long long>(publish_start_ns_));
  cid_suffix_ = token;
  measure_start_ns_ = ctl.measure_start_ns;  // every worker judges stamps against the same instant
  storm_at_ns_ = ctl.storm_at_ns;
  if (storm_at_ns_ == 0) storm_ = false;  // the parent did not schedule one (nothing to measure)
  period_ns_ = opt_.rate > 0 ? 1e9 / opt_.rate : 0;
}

void FanoutWorker::StartWindow() {
  if (cpu_at_measure_ >= 0) return;
  cpu_at_measure_ = RusageCpuSeconds(RUSAGE_SELF);
  http_.StartWindow();
  http_at_measure_ = http_.Counters();
}

bool FanoutWorker::SendDue(uint64_t now, uint64_t* next_at) {
  const uint64_t p_total = opt_.publishers;
  if (p_total == 0) return true;
  for (;;) {
    const uint64_t at =
        publish_start_ns_ + static_cast<uint64_t>(static_cast<double>(next_message_) * period_ns_);
    if (at >= publish_end_ns_) return true;
    if (at > now) {
      *next_at = at;
      return false;
    }
    // The schedule is global: message g is publisher g % P's, whichever worker holds it.
    const uint64_t j = next_message_ % p_total;
    if (PublisherWorker(opt_, storm_, workers_, j) == index_) {
      if (now - at > kLateNs) ++totals_.late_sends;
      SendOne(pubs_[PublisherSlot(opt_, storm_, workers_, j)], now);
    }
    ++next_message_;
  }
}

void FanoutWorker::PublishOnSchedule() {
  // Every message scheduled before the end is sent, even when the loop wakes after the end.
  for (uint64_t now = NowNs(); now < deadline_; now = NowNs()) {
    if (now >= measure_start_ns_) StartWindow();
    uint64_t next_at = publish_end_ns_;
    const bool exhausted = SendDue(now, &next_at);
    if (exhausted && now >= publish_end_ns_) break;
    Turn(std::max(next_at, now + kMinWaitNs));
    Progress();
  }
}

void FanoutWorker::WaitForAcks() {
  // Stragglers: acks still on their way.
  const uint64_t straggle_end = publish_end_ns_ + static_cast<uint64_t>(opt_.straggler_secs * 1e9);
  while (outstanding_ > 0 && NowNs() < std::min(straggle_end, deadline_)) {
    Turn(NowNs() + 1000000);
    Progress();
  }
}

void FanoutWorker::ReceiveUntilFinish() {
  // Deliveries (and rejoins) still on their way: the parent decides when it has seen enough.
  const Control& ctl = shared_->Ctl();
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kFinish) &&
         NowNs() < deadline_) {
    Turn(NowNs() + 1000000);
    Progress();
  }
  Progress();
}

void FanoutWorker::ReportTotals() {
  const double cpu_now = RusageCpuSeconds(RUSAGE_SELF);
  totals_.cpu_window_s = cpu_now - cpu_at_measure_;
  totals_.cpu_total_s = cpu_now;
  totals_.unacked += outstanding_;
  CountViewerHoles();
  totals_.client = client_.Counters();
  totals_.http = http_.Counters();
  slot_.totals = totals_;
  slot_.stage.store(static_cast<uint32_t>(Stage::kDone), std::memory_order_release);
}

void FanoutWorker::CountViewerHoles() {
  // Every publisher's measured messages are the counters from its first measured one to its
  // last, all sent by now (publishing ended before the parent said finish).
  std::vector<uint64_t> offered(opt_.rooms, 0);
  for (uint32_t r = 0; r < opt_.rooms; ++r) {
    for (uint32_t w = 0; w < workers_; ++w) {
      offered[r] += shared_->Room(w, r).sent.load(std::memory_order_relaxed);
    }
  }
  ViewerLoss& v = totals_.viewer_loss;
  for (uint32_t c = 0; c < conns_; ++c) {
    if (!member_[c]) continue;
    ++v.viewers;
    const uint64_t want = offered[room_[c]];
    const uint64_t holes = want > got_[c] ? want - got_[c] : 0;
    v.holes += holes;
    v.duplicates += dups_[c];
    if (holes) ++v.with_holes;
    if (dups_[c]) ++v.with_duplicates;
    v.max_holes = std::max(v.max_holes, holes);
  }
}

}  // namespace fanout_internal

int RunFanoutWorker(const Options& opt, SharedState* shared, uint32_t index,
                    uint64_t hard_deadline_ns) {
  fanout_internal::FanoutWorker w(opt, shared, index, hard_deadline_ns);
  return w.Run();
}

}  // namespace roomcast::load
