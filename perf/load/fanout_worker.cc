// Fanout worker: join, publish on schedule, check every delivery.
#include "fanout_worker.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "proc_stats.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load {

namespace {

constexpr uint64_t kLateNs = 5000000;      // a send this far behind schedule counts as late
constexpr uint64_t kMinWaitNs = 250000;    // pacing granularity: never wake more often
constexpr uint64_t kIdleWaitNs = 5000000;  // wait per loop turn when nothing is scheduled
constexpr uint32_t kNoPublisher = 0xffffffffu;

struct Publisher {
  uint32_t conn = 0;
  uint32_t global = 0;  // j
  uint32_t next_counter = 1;
  uint32_t first_measured = 0;  // counter of the first measured message; 0 until then
  uint64_t outstanding = 0;     // sent, neither acked nor refused
};

class FanoutWorker final : public ClientHandler {
 public:
  FanoutWorker(const Options& opt, SharedState* shared, uint32_t index, uint64_t deadline)
      : opt_(opt),
        shared_(shared),
        slot_(shared->Slot(index)),
        index_(index),
        workers_(shared->Workers()),
        deadline_(deadline),
        client_(opt.target, opt.source_ips, this) {}

  int Run();

  void OnOpen(uint32_t) override {}
  void OnText(uint32_t conn, std::string_view payload) override;
  void OnFailed(uint32_t conn, FailStage stage, int err) override;

 private:
  void Plan();
  bool Join();  // false: past the deadline
  void Publish(uint64_t now);
  void SendOne(Publisher& p, uint64_t now);
  void OnMsg(uint32_t conn, std::string_view payload);
  void Progress() {
    slot_.received.store(totals_.received - totals_.duplicates, std::memory_order_relaxed);
    slot_.outstanding.store(outstanding_, std::memory_order_relaxed);
  }

  const Options& opt_;
  SharedState* shared_;
  WorkerSlot& slot_;
  uint32_t index_;
  uint32_t workers_;
  uint64_t deadline_;
  UringClient client_;
  // Per local connection (ids: local viewers first, then local publishers).
  std::vector<uint32_t> room_;
  std::vector<uint32_t> pub_of_conn_;   // index into pubs_, or kNoPublisher
  std::vector<uint32_t> last_offset_;   // where the connection's last-counter row starts
  std::vector<uint32_t> last_counter_;  // per connection, per publisher of its room
  std::vector<uint8_t> welcomed_;
  std::vector<uint64_t> global_index_;  // for the source address spread
  std::vector<Publisher> pubs_;
  uint32_t conns_ = 0;
  uint64_t resolved_ = 0;  // welcomed or failed
  uint64_t outstanding_ = 0;
  uint32_t failures_logged_ = 0;
  uint64_t measure_start_ns_ = ~uint64_t{0};
  std::string op_, frame_;
  uint32_t mask_ = 0x2545f491u;
  WorkerTotals totals_;
};

uint32_t PublishersInRoom(const Options& o, uint32_t room) {
  return room < o.publishers ? (o.publishers - room + o.rooms - 1) / o.rooms : 0;
}

void FanoutWorker::Plan() {
  for (uint64_t v = index_; v < opt_.viewers; v += workers_) {
    room_.push_back(static_cast<uint32_t>(v % opt_.rooms));
    pub_of_conn_.push_back(kNoPublisher);
    global_index_.push_back(v);
  }
  for (uint64_t j = index_; j < opt_.publishers; j += workers_) {
    Publisher p;
    p.conn = static_cast<uint32_t>(room_.size());
    p.global = static_cast<uint32_t>(j);
    pub_of_conn_.push_back(static_cast<uint32_t>(pubs_.size()));
    pubs_.push_back(p);
    room_.push_back(static_cast<uint32_t>(j % opt_.rooms));
    global_index_.push_back(opt_.viewers + j);
  }
  conns_ = static_cast<uint32_t>(room_.size());
  welcomed_.assign(conns_, 0);
  last_offset_.resize(conns_);
  size_t total = 0;
  for (uint32_t c = 0; c < conns_; ++c) {
    last_offset_[c] = static_cast<uint32_t>(total);
    total += PublishersInRoom(opt_, room_[c]);
  }
  last_counter_.assign(total, 0);
}

bool FanoutWorker::Join() {
  uint32_t next = 0, check = 0;
  while (resolved_ < conns_) {
    const uint64_t now = NowNs();
    if (now >= deadline_) return false;
    while (next < conns_ && next - resolved_ < kMaxOpensInFlight) {
      const bool pub = pub_of_conn_[next] != kNoPublisher;
      const uint64_t g = global_index_[next];
      std::string user(pub ? "p" : "v");
      user += std::to_string(pub ? g - opt_.viewers : g);
      std::string room("load-");
      room += std::to_string(room_[next]);
      client_.Open(next, g, UpgradeRequest(opt_.target, room, user));
      slot_.opened.fetch_add(1, std::memory_order_relaxed);
      ++next;
    }
    client_.Poll(now + kIdleWaitNs);
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

void FanoutWorker::OnFailed(uint32_t conn, FailStage stage, int err) {
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

void FanoutWorker::OnText(uint32_t conn, std::string_view payload) {
  switch (Classify(payload)) {
    case ServerKind::kMsg:
      return OnMsg(conn, payload);
    case ServerKind::kAck: {
      const uint32_t pi = pub_of_conn_[conn];
      uint32_t counter = 0;
      if (pi == kNoPublisher || !ParseAckCounter(payload, &counter)) {
        ++totals_.other_frames;
        return;
      }
      Publisher& p = pubs_[pi];
      if (p.outstanding) {
        --p.outstanding;
        --outstanding_;
      }
      if (p.first_measured && counter >= p.first_measured) {
        ++totals_.acked;
        shared_->Room(index_, room_[conn]).acked.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    case ServerKind::kWelcome:
      if (!welcomed_[conn]) {
        welcomed_[conn] = 1;
        ++resolved_;
        slot_.welcomed.fetch_add(1, std::memory_order_relaxed);
        const uint64_t now = NowNs();
        slot_.connect_time.Record(now - client_.OpenedAt(conn));
        totals_.last_welcome_ns = std::max(totals_.last_welcome_ns, now);
      }
      return;
    case ServerKind::kGap:
      ++totals_.gap_frames;
      return;
    case ServerKind::kError: {
      ++totals_.error_frames;
      const uint32_t pi = pub_of_conn_[conn];
      if (pi != kNoPublisher && pubs_[pi].outstanding) {  // a refused send
        --pubs_[pi].outstanding;
        --outstanding_;
        ++totals_.unacked;
      }
      if (totals_.error_frames <= 3) {
        std::fprintf(stderr, "roomcast-load: worker %u: server error: %.*s\n", index_,
                     static_cast<int>(std::min<size_t>(payload.size(), 200)), payload.data());
      }
      return;
    }
    case ServerKind::kPong:
    case ServerKind::kOther:
      ++totals_.other_frames;
      return;
  }
}

void FanoutWorker::OnMsg(uint32_t conn, std::string_view payload) {
  Stamp st;
  const uint32_t room = room_[conn];
  if (!ParseMsgStamp(payload, &st) || st.pub % opt_.rooms != room ||
      st.pub / opt_.rooms >= PublishersInRoom(opt_, room)) {
    ++totals_.foreign;
    return;
  }
  uint32_t& last = last_counter_[last_offset_[conn] + st.pub / opt_.rooms];
  const bool measured = st.send_ns >= measure_start_ns_;
  if (st.counter > last) {
    if (st.counter > last + 1) totals_.gap_lost += st.counter - last - 1;
    last = st.counter;
    if (!measured) {
      ++totals_.warmup_received;
      return;
    }
    ++totals_.received;
    const uint64_t now = NowNs();
    slot_.latency.Record(now > st.send_ns ? now - st.send_ns : 0);
    return;
  }
  if (measured) {
    ++totals_.received;
    ++totals_.duplicates;
  } else {
    ++totals_.warmup_received;
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
  op_.clear();
  AppendSendOp(&op_, now, p.global, counter, opt_.size);
  frame_.clear();
  AppendClientFrame(&frame_, WsOpcode::kText, op_, mask_);
  mask_ = mask_ * 1664525u + 1013904223u;
  client_.Send(p.conn, frame_);
  ++p.outstanding;
  ++outstanding_;
}

int FanoutWorker::Run() {
  Plan();
  std::string err;
  if (!client_.Init(std::max<uint32_t>(conns_, 1), &err)) {
    std::fprintf(stderr, "roomcast-load: worker %u: %s\n", index_, err.c_str());
    return 2;
  }
  const bool joined = Join();
  // Members per room at go time: every connection that got its welcome and is still open.
  for (uint32_t c = 0; c < conns_; ++c) {
    if (welcomed_[c] && client_.State(c) == ConnState::kOpen)
      shared_->Room(index_, room_[c]).members++;
  }
  slot_.stage.store(static_cast<uint32_t>(Stage::kReady), std::memory_order_release);
  if (!joined) std::fprintf(stderr, "roomcast-load: worker %u: deadline while joining\n", index_);

  Control& ctl = shared_->Ctl();
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kGo) &&
         NowNs() < deadline_) {
    client_.Poll(NowNs() + 2000000);
  }
  const uint64_t start = ctl.publish_start_ns, end = ctl.publish_end_ns;
  const uint64_t measure = ctl.measure_start_ns;
  measure_start_ns_ = measure;  // every worker judges stamps against the same instant
  const double period_ns = opt_.rate > 0 ? 1e9 / opt_.rate : 0;
  const uint64_t p_total = opt_.publishers;
  uint64_t g = 0;
  double cpu_at_measure = -1;
  // Every message scheduled before `end` is sent, even when the loop wakes after `end`.
  for (uint64_t now = NowNs(); now < deadline_; now = NowNs()) {
    if (now >= measure && cpu_at_measure < 0) {
      cpu_at_measure = RusageCpuSeconds(RUSAGE_SELF);
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
      if (j % workers_ == index_) {
        if (now - at > kLateNs) ++totals_.late_sends;
        SendOne(pubs_[j / workers_], now);
      }
      ++g;
    }
    if (exhausted && now >= end) break;
    client_.Poll(std::max(next_at, now + kMinWaitNs));
    Progress();
  }
  if (cpu_at_measure < 0) {
    cpu_at_measure = RusageCpuSeconds(RUSAGE_SELF);
  }
  // Stragglers: acks still on their way.
  const uint64_t straggle_end = end + static_cast<uint64_t>(opt_.straggler_secs * 1e9);
  while (outstanding_ > 0 && NowNs() < std::min(straggle_end, deadline_)) {
    client_.Poll(NowNs() + 1000000);
    Progress();
  }
  slot_.stage.store(static_cast<uint32_t>(Stage::kPublished), std::memory_order_release);
  // Deliveries still on their way: the parent decides when it has seen enough.
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kFinish) &&
         NowNs() < deadline_) {
    client_.Poll(NowNs() + 1000000);
    Progress();
  }
  Progress();
  const double cpu_now = RusageCpuSeconds(RUSAGE_SELF);
  totals_.cpu_window_s = cpu_now - cpu_at_measure;
  totals_.cpu_total_s = cpu_now;
  totals_.unacked += outstanding_;
  totals_.client = client_.Counters();
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
