// Connect worker: paced opens, welcome timeouts, idle hold (pings answered), close. A long-poll
// viewer is resolved once parked (first answer in, second poll sent) and keeps polling while held.
#include "connect_worker.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "http_viewers.h"
#include "nchan_wire.h"
#include "proc_stats.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load {

namespace {

constexpr uint64_t kMinWaitNs = 250000;

class ConnectWorker final : public ClientHandler, public HttpViewerSink {
 public:
  ConnectWorker(const Options& opt, SharedState* shared, uint32_t index, uint64_t deadline)
      : opt_(opt),
        shared_(shared),
        slot_(shared->Slot(index)),
        index_(index),
        workers_(shared->Workers()),
        deadline_(deadline),
        http_viewers_(opt.transport != Transport::kWs),
        client_(opt.target, opt.source_ips, this),
        http_(opt, &client_, this) {}

  int Run();

  // nchan sends no welcome: a subscription is established once its 101 arrived.
  void OnOpen(uint32_t conn) override {
    if (opt_.target.kind == TargetKind::kNchan) return Welcomed(conn);
    if (http_viewers_) http_.OnOpen(conn);
  }
  size_t OnRaw(uint32_t conn, std::string_view data) override { return http_.OnRaw(conn, data); }
  // HTTP viewers: joined at the first long-poll answer or the SSE welcome event. A long-poll
  // viewer is resolved once parked, an SSE viewer once joined.
  void OnViewerJoined(uint32_t conn) override {
    if (http_.Kind() == Transport::kSse) return Welcomed(conn);
    const uint64_t now = NowNs();
    slot_.welcomed.fetch_add(1, std::memory_order_relaxed);
    slot_.connect_time.Record(now - client_.OpenedAt(conn));
  }
  void OnViewerParked(uint32_t conn) override {
    slot_.parked.fetch_add(1, std::memory_order_relaxed);
    Resolve(conn);
  }
  void OnViewerObject(uint32_t /*conn*/, ServerKind kind, std::string_view /*object*/) override {
    if (kind == ServerKind::kError) {
      ++totals_.error_frames;
    } else {
      ++totals_.other_frames;
    }
  }
  void OnText(uint32_t conn, std::string_view payload) override {
    if (opt_.target.kind == TargetKind::kNchan) {
      ++totals_.other_frames;
      return;
    }
    if (Classify(payload) != ServerKind::kWelcome) {
      if (Classify(payload) == ServerKind::kError)
        ++totals_.error_frames;
      else
        ++totals_.other_frames;
      return;
    }
    Welcomed(conn);
  }
  // The connection reached the point the scenario waits for (welcome, or parked poll).
  void Resolve(uint32_t conn) {
    if (welcomed_[conn]) return;
    welcomed_[conn] = 1;
    ++resolved_;
    totals_.last_welcome_ns = std::max(totals_.last_welcome_ns, NowNs());
  }
  void Welcomed(uint32_t conn) {
    if (welcomed_[conn]) return;
    Resolve(conn);
    const uint64_t now = NowNs();
    slot_.welcomed.fetch_add(1, std::memory_order_relaxed);
    slot_.connect_time.Record(now - client_.OpenedAt(conn));
  }
  void OnFailed(uint32_t conn, FailStage stage, int err) override {
    if (welcomed_[conn]) {
      ++totals_.closed_after_welcome;
    } else {
      ++totals_.failed_by_stage[static_cast<int>(stage)];
      ++resolved_;
      if (++failures_logged_ <= 3) {
        std::fprintf(stderr, "roomcast-load: worker %u: connection failed at %s (errno %d)\n",
                     index_, FailStageName(stage), -err);
      }
    }
    slot_.failed.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  // Opens what is due, polls, and times out connections that waited too long for a welcome.
  void Step(uint64_t now);
  // UringClient::Poll, with the long-poll waits that are due sent first (see FanoutWorker).
  void PollClient(uint64_t deadline_ns) {
    if (http_viewers_) {
      http_.FireDue(NowNs());
      deadline_ns = std::min(deadline_ns, http_.NextDue());
    }
    client_.Poll(deadline_ns);
  }

  const Options& opt_;
  SharedState* shared_;
  WorkerSlot& slot_;
  uint32_t index_;
  uint32_t workers_;
  uint64_t deadline_;
  bool http_viewers_;  // --transport longpoll or sse
  UringClient client_;
  HttpViewers http_;
  std::vector<uint8_t> welcomed_;  // resolved: welcomed (long-poll: parked)
  uint32_t mine_ = 0;              // connections of this worker
  uint32_t opened_ = 0;
  uint32_t checked_ = 0;  // timeout cursor
  uint64_t resolved_ = 0;
  uint64_t global_ = 0;  // schedule cursor over all N connections
  uint32_t failures_logged_ = 0;
  WorkerTotals totals_;
};

void ConnectWorker::Step(uint64_t now) {
  const uint64_t start = shared_->Ctl().publish_start_ns;
  const double period_ns = 1e9 / opt_.connect_rate;
  uint64_t next_at = now + 5000000;
  while (global_ < opt_.conns) {
    const uint64_t at = start + static_cast<uint64_t>(static_cast<double>(global_) * period_ns);
    if (at > now) {
      next_at = std::min(next_at, at);
      break;
    }
    if (global_ % workers_ == index_) {
      std::string room("load-"), user("c");
      room += std::to_string(global_ % opt_.rooms);
      user += std::to_string(global_);
      if (http_viewers_) {
        http_.Open(opened_, global_, room, user);
      } else {
        client_.Open(opened_, global_,
                     opt_.target.kind == TargetKind::kNchan
                         ? NchanSubscribeRequest(opt_.target, room)
                         : UpgradeRequest(opt_.target, room, user));
      }
      slot_.opened.fetch_add(1, std::memory_order_relaxed);
      ++opened_;
    }
    ++global_;
  }
  PollClient(std::max(next_at, now + kMinWaitNs));
  const uint64_t limit = static_cast<uint64_t>(opt_.connect_timeout * 1e9);
  const uint64_t after = NowNs();
  while (checked_ < opened_) {
    if (welcomed_[checked_] || client_.State(checked_) == ConnState::kClosed) {
      ++checked_;
      continue;
    }
    if (after - client_.OpenedAt(checked_) < limit) break;
    client_.Abort(checked_, FailStage::kTimeout);
    ++checked_;
  }
}

int ConnectWorker::Run() {
  for (uint64_t i = index_; i < opt_.conns; i += workers_) ++mine_;
  welcomed_.assign(mine_, 0);
  std::string err;
  if (!client_.Init(std::max<uint32_t>(mine_, 1), &err)) {
    std::fprintf(stderr, "roomcast-load: worker %u: %s\n", index_, err.c_str());
    return 2;
  }
  if (http_viewers_) http_.Init(std::max<uint32_t>(mine_, 1));
  while (resolved_ < mine_ && NowNs() < deadline_) Step(NowNs());
  slot_.totals.last_welcome_ns = totals_.last_welcome_ns;
  slot_.stage.store(static_cast<uint32_t>(Stage::kReady), std::memory_order_release);
  Control& ctl = shared_->Ctl();
  while (ctl.command.load(std::memory_order_acquire) < static_cast<uint32_t>(Command::kFinish) &&
         NowNs() < deadline_) {
    PollClient(NowNs() + 5000000);
  }
  totals_.cpu_total_s = RusageCpuSeconds(RUSAGE_SELF);
  totals_.client = client_.Counters();
  totals_.http = http_.Counters();
  slot_.totals = totals_;
  client_.CloseAll();
  slot_.stage.store(static_cast<uint32_t>(Stage::kDone), std::memory_order_release);
  return 0;
}

}  // namespace

int RunConnectWorker(const Options& opt, SharedState* shared, uint32_t index,
                     uint64_t hard_deadline_ns) {
  ConnectWorker w(opt, shared, index, hard_deadline_ns);
  return w.Run();
}

}  // namespace roomcast::load
