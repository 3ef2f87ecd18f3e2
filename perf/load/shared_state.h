// What the parent and its forked workers share: one anonymous MAP_SHARED mapping made before the
// fork, holding the parent's command word and schedule, one slot per worker (progress counters
// the parent watches, final results the worker writes once), and per worker a row of per-room
// cells (members, acked messages) from which the parent computes expected deliveries.
// Writers: the parent writes Control; worker w writes only slot w and its own room row. Progress
// fields are relaxed atomics (the parent only watches them); final results are published by the
// release store of stage = kDone and read after the acquire load that sees it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "histogram.h"
#include "http_viewers.h"
#include "uring_client.h"

namespace roomcast::load {

enum class Command : uint32_t { kWait = 0, kGo = 1, kFinish = 2 };
enum class Stage : uint32_t { kConnecting = 0, kReady = 1, kPublished = 2, kDone = 3 };

struct Control {
  std::atomic<uint32_t> command{0};
  // Valid once command >= kGo (CLOCK_MONOTONIC ns).
  uint64_t publish_start_ns = 0;
  uint64_t measure_start_ns = 0;
  uint64_t publish_end_ns = 0;
  uint64_t storm_at_ns = 0;  // storm: when the storm group drops its connections; 0: no storm
  // storm: set by the parent once every storm viewer rejoined or gave up (the last welcome's
  // time); 0 until then. Workers read it to file calm deliveries under "during" or "after".
  std::atomic<uint64_t> whole_ns{0};
};

// The publish scenario's figures beyond WorkerTotals' sent, acked, unacked and error_frames.
// "Measured" sends are those sent within the measured window.
struct PublishCounters {
  uint64_t errors = 0;          // measured sends answered by an error frame
  uint64_t acks_in_window = 0;  // acks (of any send) that arrived within the measured window
  uint64_t msgs_in_window = 0;  // the room's msg frames that arrived within the measured window
  uint64_t msgs_total = 0;      // the same over the whole run
  uint64_t out_of_order = 0;    // acks that answered a send other than the oldest unanswered one
  uint64_t unmatched = 0;       // acks whose cid named no unanswered send of their connection
  uint64_t window_held = 0;     // --rate: measured sends that found their publisher's window full
  uint64_t not_sent = 0;        // --rate: sends still held by the window when publishing ended
  void Add(const PublishCounters& o) {
    errors += o.errors;
    acks_in_window += o.acks_in_window;
    msgs_in_window += o.msgs_in_window;
    msgs_total += o.msgs_total;
    out_of_order += o.out_of_order;
    unmatched += o.unmatched;
    window_held += o.window_held;
    not_sent += o.not_sent;
  }
};

// Loss counted viewer by viewer (a surplus at one cannot hide a hole at another): over the
// receiving connections counted at go, each owed every measured message sent in its room.
struct ViewerLoss {
  uint64_t viewers = 0;          // receiving connections checked
  uint64_t with_holes = 0;       // of them, missing at least one message
  uint64_t holes = 0;            // messages missing, summed over viewers
  uint64_t max_holes = 0;        // the most missing at one viewer
  uint64_t with_duplicates = 0;  // viewers that got a message twice (or out of order)
  uint64_t duplicates = 0;       // such receipts, summed over viewers
  void Add(const ViewerLoss& o) {
    viewers += o.viewers;
    with_holes += o.with_holes;
    holes += o.holes;
    max_holes = max_holes > o.max_holes ? max_holes : o.max_holes;
    with_duplicates += o.with_duplicates;
    duplicates += o.duplicates;
  }
};

// Figures a worker reports once, at the end.
// "Calm" connections are the ones whose deliveries are checked for loss: every receiving
// connection in fanout; in storm, those outside the storm group (see fanout_worker.h).
struct WorkerTotals {
  uint64_t received = 0;         // measured msg frames received by calm connections (dups too)
  uint64_t duplicates = 0;       // measured frames whose counter was not above the last one seen
  uint64_t gap_lost = 0;         // messages skipped over in a publisher's counter sequence
  uint64_t other_received = 0;   // storm: measured frames received by the other connections
  uint64_t warmup_received = 0;  // frames of messages sent before the measurement started
  uint64_t foreign = 0;          // msg frames without our stamp or from a publisher of another room
  uint64_t gap_frames = 0;       // {"type":"gap"} notices
  uint64_t error_frames = 0;     // {"type":"error"} replies
  uint64_t other_frames = 0;     // any other object (welcome excluded)
  uint64_t sent = 0;             // measured messages sent
  uint64_t acked = 0;            // measured messages acked
  uint64_t unacked = 0;          // measured messages never acked
  uint64_t warmup_sent = 0;
  uint64_t late_sends = 0;     // sends more than 5 ms behind their schedule
  uint64_t skipped_sends = 0;  // scheduled while the publisher connection was not open
  uint64_t failed_by_stage[kFailStages] = {};
  uint64_t closed_after_welcome = 0;
  uint64_t last_welcome_ns = 0;
  // storm
  uint64_t storm_viewers = 0;  // viewers in the storm group
  uint64_t calm_conns = 0;     // calm receiving connections welcomed at go time
  uint64_t rejoin_failed_by_stage[kFailStages] = {};
  uint64_t rejoined_closed = 0;  // rejoined, then closed by the server
  double cpu_window_s = 0;       // user+sys CPU within the measurement window
  double cpu_total_s = 0;        // user+sys CPU of the worker's whole life
  ClientCounters client;
  // --transport longpoll or sse: the viewers' HTTP figures over the whole run, and (fanout) over
  // the measured window only (measure start to publish end).
  HttpViewerCounters http;
  HttpViewerCounters http_window;
  PublishCounters publish;
  ViewerLoss viewer_loss;
};

struct alignas(64) WorkerSlot {
  std::atomic<uint32_t> stage{0};
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> welcomed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> received{0};  // measured unique calm deliveries so far (minus duplicates)
  std::atomic<uint64_t> outstanding{0};
  // storm progress: viewers dropped, rejoined (welcomed again), given up on; the last rejoin's
  // welcome time.
  std::atomic<uint32_t> stormed{0};  // 1 once this worker dropped its storm group
  std::atomic<uint64_t> storm_dropped{0};
  std::atomic<uint64_t> rejoined{0};
  std::atomic<uint64_t> rejoin_failed{0};
  std::atomic<uint64_t> last_rejoin_ns{0};
  // long-poll: the longest timeoutMs seen so far (the parent waits that much longer for
  // stragglers); connect: viewers parked so far.
  std::atomic<uint64_t> max_poll_wait_ms{0};
  std::atomic<uint64_t> parked{0};
  WorkerTotals totals;
  Histogram latency;       // fanout: now - send stamp of every measured calm delivery (ns);
                           // publish: send to ack of every measured send (ns)
  Histogram connect_time;  // connect() to welcome (ns)
  // storm: calm deliveries by send time: before the storm, during it (until whole again), after
  Histogram calm_before;
  Histogram calm_during;
  Histogram calm_after;
  Histogram rejoin_time;     // a storm viewer's new connect() to its welcome (ns)
  Histogram rejoin_latency;  // deliveries to rejoined viewers (ns)
};

struct RoomCell {
  std::atomic<uint64_t> acked{0};  // measured messages acked in this room by this worker
  std::atomic<uint64_t> sent{0};   // measured messages sent in this room by this worker
  uint32_t members = 0;            // this worker's welcomed calm connections in the room at go time
};

class SharedState {
 public:
  // Maps the region; aborts loudly if the mapping fails (nothing can run without it).
  SharedState(uint32_t workers, uint32_t rooms);
  ~SharedState();
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  [[nodiscard]] Control& Ctl() { return *control_; }
  [[nodiscard]] WorkerSlot& Slot(uint32_t w) { return slots_[w]; }
  [[nodiscard]] RoomCell& Room(uint32_t w, uint32_t room) {
    return cells_[static_cast<size_t>(w) * rooms_ + room];
  }
  [[nodiscard]] uint32_t Workers() const { return workers_; }
  [[nodiscard]] uint32_t Rooms() const { return rooms_; }

 private:
  uint32_t workers_;
  uint32_t rooms_;
  size_t bytes_ = 0;
  void* base_ = nullptr;
  Control* control_ = nullptr;
  WorkerSlot* slots_ = nullptr;
  RoomCell* cells_ = nullptr;
};

}  // namespace roomcast::load
