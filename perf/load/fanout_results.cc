// Merging worker slots, and the report rows the scenarios share, for fanout_results.h.
#include "fanout_results.h"

#include <algorithm>
#include <string>

#include "uring_client.h"

namespace roomcast::load {

Merged MergeSlots(SharedState& shared) {
  Merged m;
  for (uint32_t w = 0; w < shared.Workers(); ++w) {
    WorkerSlot& s = shared.Slot(w);
    const WorkerTotals& t = s.totals;
    m.welcomed += s.welcomed.load(std::memory_order_relaxed);
    m.failed += s.failed.load(std::memory_order_relaxed);
    m.storm_dropped += s.storm_dropped.load(std::memory_order_relaxed);
    m.rejoined += s.rejoined.load(std::memory_order_relaxed);
    m.rejoin_failed += s.rejoin_failed.load(std::memory_order_relaxed);
    m.last_rejoin_ns = std::max(m.last_rejoin_ns, s.last_rejoin_ns.load(std::memory_order_relaxed));
    m.latency.Merge(s.latency);
    m.connect_time.Merge(s.connect_time);
    m.calm_before.Merge(s.calm_before);
    m.calm_during.Merge(s.calm_during);
    m.calm_after.Merge(s.calm_after);
    m.rejoin_time.Merge(s.rejoin_time);
    m.rejoin_latency.Merge(s.rejoin_latency);
    m.t.received += t.received;
    m.t.duplicates += t.duplicates;
    m.t.gap_lost += t.gap_lost;
    m.t.other_received += t.other_received;
    m.t.warmup_received += t.warmup_received;
    m.t.foreign += t.foreign;
    m.t.gap_frames += t.gap_frames;
    m.t.error_frames += t.error_frames;
    m.t.other_frames += t.other_frames;
    m.t.sent += t.sent;
    m.t.acked += t.acked;
    m.t.unacked += t.unacked;
    m.t.warmup_sent += t.warmup_sent;
    m.t.late_sends += t.late_sends;
    m.t.skipped_sends += t.skipped_sends;
    for (int i = 0; i < kFailStages; ++i) {
      m.t.failed_by_stage[i] += t.failed_by_stage[i];
      m.t.rejoin_failed_by_stage[i] += t.rejoin_failed_by_stage[i];
    }
    m.t.closed_after_welcome += t.closed_after_welcome;
    m.t.storm_viewers += t.storm_viewers;
    m.t.calm_conns += t.calm_conns;
    m.t.rejoined_closed += t.rejoined_closed;
    m.t.cpu_window_s += t.cpu_window_s;
    m.t.cpu_total_s += t.cpu_total_s;
    m.t.client.recv_completions += t.client.recv_completions;
    m.t.client.recv_bytes += t.client.recv_bytes;
    m.t.client.recv_rearms += t.client.recv_rearms;
    m.t.client.enobufs += t.client.enobufs;
    m.t.client.frames += t.client.frames;
    m.t.client.pings_answered += t.client.pings_answered;
    m.t.client.fragmented += t.client.fragmented;
    m.t.client.sends += t.client.sends;
    m.t.client.enters += t.client.enters;
    m.t.http.Add(t.http);
    m.t.http_window.Add(t.http_window);
    m.t.publish.Add(t.publish);
    m.t.viewer_loss.Add(t.viewer_loss);
  }
  return m;
}

uint64_t ExpectedDeliveries(SharedState& shared) {
  uint64_t expected = 0;
  for (uint32_t r = 0; r < shared.Rooms(); ++r) {
    uint64_t acked = 0, members = 0;
    for (uint32_t w = 0; w < shared.Workers(); ++w) {
      acked += shared.Room(w, r).acked.load(std::memory_order_relaxed);
      members += shared.Room(w, r).members;
    }
    expected += acked * members;
  }
  return expected;
}

uint64_t OfferedDeliveries(SharedState& shared) {
  uint64_t offered = 0;
  for (uint32_t r = 0; r < shared.Rooms(); ++r) {
    uint64_t sent = 0, members = 0;
    for (uint32_t w = 0; w < shared.Workers(); ++w) {
      sent += shared.Room(w, r).sent.load(std::memory_order_relaxed);
      members += shared.Room(w, r).members;
    }
    offered += sent * members;
  }
  return offered;
}

uint64_t CalmMembers(SharedState& shared) {
  uint64_t members = 0;
  for (uint32_t r = 0; r < shared.Rooms(); ++r) {
    for (uint32_t w = 0; w < shared.Workers(); ++w) members += shared.Room(w, r).members;
  }
  return members;
}

uint64_t ReceivedSoFar(SharedState& shared) {
  uint64_t n = 0;
  for (uint32_t w = 0; w < shared.Workers(); ++w) {
    n += shared.Slot(w).received.load(std::memory_order_relaxed);
  }
  return n;
}

uint64_t MaxPollWaitMs(SharedState& shared) {
  uint64_t ms = 0;
  for (uint32_t w = 0; w < shared.Workers(); ++w) {
    ms = std::max(ms, shared.Slot(w).max_poll_wait_ms.load(std::memory_order_relaxed));
  }
  return ms;
}

bool AllAtStage(SharedState& shared, Stage stage) {
  for (uint32_t w = 0; w < shared.Workers(); ++w) {
    if (shared.Slot(w).stage.load(std::memory_order_acquire) < static_cast<uint32_t>(stage)) {
      return false;
    }
  }
  return true;
}

void AddHttpViewerRows(Report& r, Transport transport, const HttpViewerCounters& run,
                       const HttpViewerCounters& window, double duration_s) {
  if (transport == Transport::kWs) return;
  const auto n = [](uint64_t v) { return static_cast<long long>(v); };
  if (transport == Transport::kLongPoll) {
    r.Section("long-poll viewers (measured window unless marked)");
    r.Int("poll_requests", "poll requests sent", n(window.requests));
    r.Num("poll_requests_per_s", "poll requests/s", window.requests / duration_s, "/s", 0);
    r.Int("poll_responses", "poll answers received", n(window.responses));
    r.Num("poll_msgs_per_response", "messages per answer (mean)",
          window.responses ? double(window.msg_objects) / window.responses : 0, "", 2);
    r.Int("poll_empty_responses", "answers without a message", n(window.empty_responses));
    r.Num("poll_wait_mean_ms", "advised wait timeoutMs (mean)",
          window.waits ? double(window.wait_ms_sum) / window.waits : 0, "ms", 0);
    r.Int("poll_wait_max_ms", "advised wait timeoutMs (max)", n(window.wait_ms_max), "ms");
    r.Int("poll_requests_total", "poll requests sent (whole run)", n(run.requests));
    r.Int("poll_responses_total", "poll answers received (whole run)", n(run.responses));
  } else {
    r.Section("SSE viewers (whole run)");
    r.Int("sse_streams", "event streams opened (200)", n(run.sse_streams));
    r.Int("sse_events", "events received", n(run.sse_events));
    r.Int("sse_heartbeats", "comment lines (heartbeats)", n(run.sse_comments));
  }
  r.Int("http_errors", "non-200 answers (whole run)", n(run.errors));
  r.Int("http_bad_answers", "unreadable answers (whole run)", n(run.bad_answers));
  r.Int("gap_seqs", "seqs skipped by gap objects (whole run)", n(run.gap_seqs));
  r.Int("http_closes", "answers with Connection: close", n(run.closes));
}

void AddJoinRows(Report& r, const Merged& m, double join_s) {
  r.Int("welcomed", "welcomed", static_cast<long long>(m.welcomed));
  r.Int("failed", "failed before welcome",
        static_cast<long long>(m.failed - m.t.closed_after_welcome));
  for (int i = 0; i < kFailStages; ++i) {
    if (!m.t.failed_by_stage[i]) continue;
    const std::string name = FailStageName(static_cast<FailStage>(i));
    r.Int("failed_" + name, "  of which at " + name,
          static_cast<long long>(m.t.failed_by_stage[i]));
  }
  r.Int("closed_during_run", "closed after welcome",
        static_cast<long long>(m.t.closed_after_welcome));
  r.Num("join_s", "time to join all", join_s, "s", 2);
  r.Num("connect_p50_ms", "connect to welcome p50", m.connect_time.ValueAt(0.5) * 1e-6, "ms", 2);
  r.Num("connect_p99_ms", "connect to welcome p99", m.connect_time.ValueAt(0.99) * 1e-6, "ms", 2);
}

void AddLatency(Report& r, const std::string& prefix, const Histogram& h) {
  const double ms = 1e-6;
  r.Int(prefix + "_samples", "samples", static_cast<long long>(h.Count()));
  if (h.Count() == 0) {
    r.Missing(prefix + "_p50_ms", "p50");
    r.Missing(prefix + "_p99_ms", "p99");
    r.Missing(prefix + "_max_ms", "max");
    return;
  }
  r.Num(prefix + "_p50_ms", "p50", h.ValueAt(0.50) * ms, "ms", 3);
  r.Num(prefix + "_p90_ms", "p90", h.ValueAt(0.90) * ms, "ms", 3);
  r.Num(prefix + "_p99_ms", "p99", h.ValueAt(0.99) * ms, "ms", 3);
  r.Num(prefix + "_p999_ms", "p99.9", h.ValueAt(0.999) * ms, "ms", 3);
  r.Num(prefix + "_max_ms", "max", h.Max() * ms, "ms", 3);
  r.Num(prefix + "_mean_ms", "mean", h.Mean() * ms, "ms", 3);
}

}  // namespace roomcast::load
