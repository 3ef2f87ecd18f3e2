// Publish worker: join, keep every publisher's window full (or send on schedule), match acks.
#include "publish_worker.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "ack_window.h"
#include "proc_stats.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load {

namespace {

constexpr uint64_t kLateNs = 5000000;      // a send this far behind schedule counts as late
constexpr uint64_t kMinWaitNs = 250000;    // pacing granularity: never wake more often
constexpr uint64_t kIdleWaitNs = 5000000;  // wait per loop turn when nothing is scheduled
constexpr uint32_t kOpensInFlight = 256;   // connects at once while joining

struct Publisher {
  explicit Publisher(uint32_t window) : acks(window) {}
  AckWindow acks;
  uint32_t global = 0;  // j
  uint32_t room = 0;
  bool welcomed = false;
  bool touched = false;    // in PublishWorker::touched_
  uint64_t scheduled = 0;  // --rate: sends due so far (the k-th at start + (k P + j) / rate)
  uint64_t due = 0;        // --rate: due, not yet sent (the window was full)
  uint64_t held = 0;       // of `due`, those already counted in window_held
};

class PublishWorker final : public ClientHandler {
 public:
  PublishWorker(const Options& opt, SharedState* shared, uint32_t index, uint64_t deadline)
      : opt_(opt),
        slot_(shared->Slot(index)),
        ctl_(shared->Ctl()),
        index_(index),
        workers_(shared->Workers()),
        deadline_(deadline),
        client_(opt.target, opt.source_ips, this) {}

  int Run();

  void OnOpen(uint32_t /*conn*/) override {}  // joined at the welcome frame
  void OnText(uint32_t conn, std::string_view payload) override;
  void OnFailed(uint32_t conn, FailStage stage, int err) override;

 private:
  bool Join();  // false: past the deadline
  void Welcomed(uint32_t conn);
  void OnAck(uint32_t conn, std::string_view payload);
  void OnError(uint32_t conn, std::string_view payload);
  // Queues the publisher for TopUpTouched (after an answer freed room, or a send fell due).
  void Touch(uint32_t conn) {
    if (!publishing_ || pubs_[conn].touched) return;
    pubs_[conn].touched = true;
    touched_.push_back(conn);
  }
  // Sends what the publisher may send now, as one write: while its window has room, every send
  // (no --rate) or its due sends (--rate).
  void TopUp(uint32_t conn, uint64_t now);
  void TopUpTouched(uint64_t now);
  // Turns the --rate schedule up to `now` into due sends; returns when the next one is due.
  uint64_t Schedule(uint64_t now);

  const Options& opt_;
  WorkerSlot& slot_;
  Control& ctl_;
  uint32_t index_;
  uint32_t workers_;
  uint64_t deadline_;
  UringClient client_;
  // Connection id c is local publisher c, global publisher index_ + c * workers_.
  std::vector<Publisher> pubs_;
  std::vector<uint32_t> touched_;
  uint64_t resolved_ = 0;  // welcomed or failed while joining
  uint32_t failures_logged_ = 0;
  // The phases, from Control once the parent says go.
  bool publishing_ = false;  // from go until publish end: sends allowed
  bool measuring_ = false;   // within the measured window: acks and msgs counted
  uint64_t start_ns_ = 0, measure_ns_ = 0, end_ns_ = 0;
  double period_ns_ = 0;  // --rate: between two sends of the global schedule
  uint64_t next_g_ = 0;   // --rate: the next message of the global schedule
  uint64_t pending_measured_ = 0;
  std::string cid_suffix_;  // "-<run token>": cids never repeat across runs
  std::string op_, frames_;
  uint32_t mask_ = 0x2545f491u;
  WorkerTotals totals_;
};

void PublishWorker::OnText(uint32_t conn, std::string_view payload) {
  switch (Classify(payload)) {
    case ServerKind::kMsg:  // the room's messages: only counted
      ++totals_.publish.msgs_total;
      if (measuring_) ++totals_.publish.msgs_in_window;
      return;
    case ServerKind::kAck:
      return OnAck(conn, payload);
    case ServerKind::kWelcome:
      return Welcomed(conn);
    case ServerKind::kError:
      return OnError(conn, payload);
    case ServerKind::kGap:
      ++totals_.gap_frames;
      return;
    case ServerKind::kPong:
    case ServerKind::kOther:
      ++totals_.other_frames;
      return;
  }
}

void PublishWorker::OnAck(uint32_t conn, std::string_view payload) {
  Publisher& p = pubs_[conn];
  uint32_t pub = 0, counter = 0;
  AckWindow::Sent sent;
  AckWindow::Match match = AckWindow::Match::kUnknown;
  if (ParseAckCid(payload, cid_suffix_, &pub, &counter) && pub == p.global) {
    match = p.acks.Answer(counter, &sent);
  }
  if (match == AckWindow::Match::kUnknown) {
    ++totals_.publish.unmatched;
    return;
  }
  if (match == AckWindow::Match::kOutOfOrder) ++totals_.publish.out_of_order;
  if (measuring_) ++totals_.publish.acks_in_window;
  if (sent.measured) {
    const uint64_t now = NowNs();
    ++totals_.acked;
    --pending_measured_;
    slot_.latency.Record(now > sent.send_ns ? now - sent.send_ns : 0);
  }
  Touch(conn);
}

void PublishWorker::OnError(uint32_t conn, std::string_view payload) {
  ++totals_.error_frames;
  if (totals_.error_frames <= 3) {
    std::fprintf(stderr, "roomcast-load: worker %u: server error: %.*s\n", index_,
                 static_cast<int>(std::min<size_t>(payload.size(), 200)), payload.data());
  }
  AckWindow::Sent sent;
  if (!pubs_[conn].acks.AnswerOldest(&sent)) return;
  if (sent.measured) {
    ++totals_.publish.errors;
    --pending_measured_;
  }
  Touch(conn);
}

void PublishWorker::Welcomed(uint32_t conn) {
  Publisher& p = pubs_[conn];
  if (p.welcomed) return;
  p.welcomed = true;
  ++resolved_;
  const uint64_t now = NowNs();
  slot_.welcomed.fetch_add(1, std::memory_order_relaxed);
  slot_.connect_time.Record(now - client_.OpenedAt(conn));
  totals_.last_welcome_ns = std::max(totals_.last_welcome_ns, now);
}

void PublishWorker::OnFailed(uint32_t conn, FailStage stage, int err) {
  Publisher& p = pubs_[conn];
  if (p.welcomed) {
    ++totals_.closed_after_welcome;
    const uint32_t lost = p.acks.Abandon();  // they will never be answered now
    totals_.unacked += lost;
    pending_measured_ -= lost;
    p.due = p.held = 0;
  } else {
    ++totals_.failed_by_stage[static_cast<int>(stage)];
    ++resolved_;
    if (++failures_logged_ <= 3) {
      std::fprintf(stderr, "roomcast-load: worker %u: connection failed at %s (errno %d)\n", index_,
                   FailStageName(stage), -err);
    }
  }
  slot_.failed.fetch_add(1, std::memory_order_relaxed);
}

void PublishWorker::TopUp(uint32_t conn, uint64_t now) {
  Publisher& p = pubs_[conn];
  if (!publishing_ || client_.State(conn) != ConnState::kOpen) return;
  const bool paced = opt_.rate > 0;
  const bool measured = now >= measure_ns_;
  frames_.clear();
  uint64_t sent = 0;
  while (!p.acks.Full() && (!paced || p.due > 0)) {
    if (paced) {
      // The oldest due send is the publisher's (scheduled - due)-th.
      const uint64_t k = p.scheduled - p.due;
      const uint64_t at =
          start_ns_ +
          static_cast<uint64_t>(static_cast<double>(k * opt_.publishers + p.global) * period_ns_);
      if (measured && now > at + kLateNs) ++totals_.late_sends;
      --p.due;
    }
    const uint32_t counter = p.acks.Push(now, measured);
    op_.clear();
    AppendSendOp(&op_, now, p.global, counter, opt_.size, cid_suffix_);
    AppendClientFrame(&frames_, WsOpcode::kText, op_, mask_);
    mask_ = mask_ * 1664525u + 1013904223u;
    ++sent;
  }
  if (sent) client_.Send(conn, frames_);
  if (measured) {
    totals_.sent += sent;
    pending_measured_ += sent;
  } else {
    totals_.warmup_sent += sent;
  }
  if (!paced) return;
  // Due sends left behind wait for the window: each is counted once.
  p.held = p.held > sent ? p.held - sent : 0;
  if (p.due > p.held) {
    if (measured) totals_.publish.window_held += p.due - p.held;
    p.held = p.due;
  }
}

void PublishWorker::TopUpTouched(uint64_t now) {
  for (uint32_t conn : touched_) {
    pubs_[conn].touched = false;
    TopUp(conn, now);
  }
  touched_.clear();
}

uint64_t PublishWorker::Schedule(uint64_t now) {
  for (;;) {
    const uint64_t at =
        start_ns_ + static_cast<uint64_t>(static_cast<double>(next_g_) * period_ns_);
    if (at >= end_ns_) return end_ns_;
    if (at > now) return at;
    const uint64_t j = next_g_++ % opt_.publishers;
    if (j % workers_ != index_) continue;
    const uint32_t conn = static_cast<uint32_t>(j / workers_);
    ++pubs_[conn].scheduled;
    ++pubs_[conn].due;
    Touch(conn);
  }
}

bool PublishWorker::Join() {
  const uint32_t n = static_cast<uint32_t>(pubs_.size());
  const uint64_t limit = static_cast<uint64_t>(opt_.connect_timeout * 1e9);
  uint32_t next = 0, check = 0;
  std::string room, user;
  while (resolved_ < n) {
    const uint64_t now = NowNs();
    if (now >= deadline_) return false;
    while (next < n && next - resolved_ < kOpensInFlight) {
      const Publisher& p = pubs_[next];
      room = "load-" + std::to_string(p.room);
      user = "p" + std::to_string(p.global);
      client_.Open(next, p.global, UpgradeRequest(opt_.target, room, user));
      slot_.opened.fetch_add(1, std::memory_order_relaxed);
      ++next;
    }
    client_.Poll(now + kIdleWaitNs);
    // Connections open in order, so the oldest unresolved ones are found from a moving cursor.
    const uint64_t after = NowNs();
    while (check < next) {
      if (pubs_[check].welcomed || client_.State(check) == ConnState::kClosed) {
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

int PublishWorker::Run() {
  for (uint64_t j = index_; j < opt_.publishers; j += workers_) {
    Publisher p(opt_.window);
    p.global = static_cast<uint32_t>(j);
    p.room = static_cast<uint32_t>(j % opt_.rooms);
    pubs_.push_back(std::move(p));
  }
  std::string err;
  if (!client_.Init(std::max<uint32_t>(static_cast<uint32_t>(pubs_.size()), 1), &err)) {
    std::fprintf(stderr, "roomcast-load: worker %u: %s\n", index_, err.c_str());
    return 2;
  }
  const bool joined = Join();
  slot_.stage.store(static_cast<uint32_t>(Stage::kReady), std::memory_order_release);
  if (!joined) std::fprintf(stderr, "roomcast-load: worker %u: deadline while joining\n", index_);

  while (ctl_.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kGo) &&
         NowNs() < deadline_) {
    client_.Poll(NowNs() + 2000000);
  }
  start_ns_ = ctl_.publish_start_ns;
  // The run token: the start instant (the same in every worker, new for every run on this boot).
  char token[24];
  std::snprintf(token, sizeof token, "-%llx", static_cast<unsigned long long>(start_ns_));
  cid_suffix_ = token;
  measure_ns_ = ctl_.measure_start_ns;
  end_ns_ = ctl_.publish_end_ns;
  const bool paced = opt_.rate > 0;
  period_ns_ = paced ? 1e9 / opt_.rate : 0;
  // Wait for the start; then every publisher fills its window (without --rate).
  while (NowNs() < std::min(start_ns_, deadline_)) client_.Poll(start_ns_);
  publishing_ = start_ns_ < end_ns_;
  if (!paced) {
    for (uint32_t c = 0; c < pubs_.size(); ++c) Touch(c);
  }
  double cpu_at_measure = -1;
  for (uint64_t now = NowNs(); now < deadline_; now = NowNs()) {
    if (!measuring_ && now >= measure_ns_ && now < end_ns_) {
      measuring_ = true;
      cpu_at_measure = RusageCpuSeconds(RUSAGE_SELF);
    }
    if (now >= end_ns_) break;
    uint64_t wake = paced ? std::max(Schedule(now), now + kMinWaitNs) : now + kIdleWaitNs;
    TopUpTouched(now);
    // Wake at the window's edges too, so that the counts in it start and stop on time.
    wake = std::min(wake, measuring_ ? end_ns_ : std::max(measure_ns_, now + kMinWaitNs));
    client_.Poll(wake);
  }
  measuring_ = false;
  publishing_ = false;
  if (cpu_at_measure < 0) cpu_at_measure = RusageCpuSeconds(RUSAGE_SELF);
  const double cpu_at_end = RusageCpuSeconds(RUSAGE_SELF);
  for (Publisher& p : pubs_) {
    totals_.publish.not_sent += p.due;
    p.due = p.held = 0;
  }
  // Stragglers: acks of measured sends still on their way.
  const uint64_t straggle_end =
      std::min(end_ns_ + static_cast<uint64_t>(opt_.straggler_secs * 1e9), deadline_);
  while (pending_measured_ > 0 && NowNs() < straggle_end) client_.Poll(NowNs() + 1000000);
  slot_.outstanding.store(pending_measured_, std::memory_order_relaxed);
  slot_.stage.store(static_cast<uint32_t>(Stage::kPublished), std::memory_order_release);
  // Keep reading (and answering pings) until the parent has read the server's figures.
  while (ctl_.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kFinish) &&
         NowNs() < deadline_) {
    client_.Poll(NowNs() + 1000000);
  }
  totals_.cpu_window_s = cpu_at_end - cpu_at_measure;
  totals_.cpu_total_s = RusageCpuSeconds(RUSAGE_SELF);
  totals_.unacked += pending_measured_;
  totals_.client = client_.Counters();
  slot_.totals = totals_;
  slot_.stage.store(static_cast<uint32_t>(Stage::kDone), std::memory_order_release);
  client_.CloseAll();
  return 0;
}

}  // namespace

int RunPublishWorker(const Options& opt, SharedState* shared, uint32_t index,
                     uint64_t hard_deadline_ns) {
  PublishWorker w(opt, shared, index, hard_deadline_ns);
  return w.Run();
}

}  // namespace roomcast::load
