// The FanoutWorker class: one worker process of the fanout and storm scenarios
// (fanout_worker.h says what it does). Private to its two source files, split by concept:
// fanout_worker.cc plans, joins and publishes on schedule; fanout_checks.cc handles everything
// the worker receives (welcomes, acks, refusals, failures) and checks every delivery (stamp,
// order, loss, latency). Include nowhere else.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fanout_worker.h"
#include "http_viewers.h"
#include "options.h"
#include "shared_state.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load::fanout_internal {

// FanoutWorker::pub_of_conn_ of a connection that publishes nothing (a viewer).
inline constexpr uint32_t kNoPublisher = 0xffffffffu;

// What a connection counts for.
enum class Role : uint8_t {
  kCalm,       // loss, order and latency are checked (fanout: every receiving connection)
  kStorm,      // a storm-group viewer's first connection (dropped at the storm)
  kRejoined,   // a storm-group viewer's connection opened after the storm
  kBystander,  // storm, default grouping: a roomcast publisher of a storm room (receives)
  kSender,     // nchan publisher (WebSocket or HTTP): receives acks only, no message
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
        client_(WorkerTarget(opt, index), opt.source_ips, this),
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
  // Run's phases, in order.
  void JoinAndCountMembers();
  void WaitForGo();
  void AdoptSchedule();
  void PublishOnSchedule();
  void WaitForAcks();
  void ReceiveUntilFinish();
  void ReportTotals();
  // Per receiving connection counted at go: messages it is missing (offered in its room, not
  // received) and received more than once, into totals_.viewer_loss.
  void CountViewerHoles();
  // Sends every message of this worker's publishers due by `now` (those scheduled before the
  // publishing end); *next_at gets the time of the next one. True when the schedule is exhausted.
  bool SendDue(uint64_t now, uint64_t* next_at);
  // The measured window starts for this worker's CPU and HTTP-viewer figures (once).
  void StartWindow();
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
  // Per connection: counted in its room's members at go (1/0); measured messages received once
  // (got_) and again or out of order (dups_). Holes are judged against these per viewer.
  std::vector<uint8_t> member_;
  std::vector<uint32_t> got_;
  std::vector<uint32_t> dups_;
  std::vector<uint64_t> global_index_;  // viewer v or V + j: names and source addresses
  std::vector<Publisher> pubs_;
  uint32_t conns_ = 0;     // ids joined at the start (the rest are rejoin ids)
  uint64_t resolved_ = 0;  // of the first conns_: welcomed or failed
  uint64_t outstanding_ = 0;
  uint32_t failures_logged_ = 0;
  uint64_t measure_start_ns_ = ~uint64_t{0};
  // The publishing schedule (Control, read at go): message g is due at
  // publish_start_ns_ + g * period_ns_, for every g before publish_end_ns_.
  uint64_t publish_start_ns_ = 0;
  uint64_t publish_end_ns_ = 0;
  double period_ns_ = 0;
  uint64_t next_message_ = 0;   // g of the next message not yet due
  double cpu_at_measure_ = -1;  // this process's CPU seconds at the window's start; -1 before
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

}  // namespace roomcast::load::fanout_internal
