// What a fanout or storm worker does with everything it receives: welcomes, failures, acks and
// refusals of its publishers' sends, and the checks of every delivered message (stamp, order,
// loss, latency). The FanoutWorker class: fanout_worker_internal.h.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "fanout_plan.h"
#include "fanout_worker_internal.h"
#include "http_response.h"
#include "nchan_wire.h"
#include "ws_client.h"

namespace roomcast::load::fanout_internal {

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
  if (nchan_ && pub_of_conn_[conn] != kNoPublisher) {  // a WebSocket publisher's answer
    if (!IsNchanPublishAck(payload)) return Refused(conn, payload);
    return Acked(conn, ++pubs_[pub_of_conn_[conn]].responses);  // answers come in order
  }
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
    ++dups_[conn];
    return;
  }
  ++got_[conn];
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

}  // namespace roomcast::load::fanout_internal
