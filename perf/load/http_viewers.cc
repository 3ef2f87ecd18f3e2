// Long-poll and SSE viewers on raw client connections, for http_viewers.h.
#include "http_viewers.h"

#include <algorithm>
#include <cstdio>

#include "poll_wire.h"

namespace roomcast::load {

namespace {

constexpr uint32_t kErrorBackoffMs = 1000;  // wait before polling again after a non-200 answer
constexpr uint32_t kErrorsLogged = 3;

}  // namespace

HttpViewerCounters HttpViewerCounters::Since(const HttpViewerCounters& e) const {
  HttpViewerCounters d;
  d.requests = requests - e.requests;
  d.responses = responses - e.responses;
  d.msg_objects = msg_objects - e.msg_objects;
  d.empty_responses = empty_responses - e.empty_responses;
  d.gap_objects = gap_objects - e.gap_objects;
  d.gap_seqs = gap_seqs - e.gap_seqs;
  d.other_objects = other_objects - e.other_objects;
  d.errors = errors - e.errors;
  d.bad_answers = bad_answers - e.bad_answers;
  d.closes = closes - e.closes;
  d.waits = waits - e.waits;
  d.wait_ms_sum = wait_ms_sum - e.wait_ms_sum;
  d.wait_ms_max = wait_ms_max;
  d.parked = parked - e.parked;
  d.sse_streams = sse_streams - e.sse_streams;
  d.sse_events = sse_events - e.sse_events;
  d.sse_comments = sse_comments - e.sse_comments;
  return d;
}

void HttpViewerCounters::Add(const HttpViewerCounters& o) {
  requests += o.requests;
  responses += o.responses;
  msg_objects += o.msg_objects;
  empty_responses += o.empty_responses;
  gap_objects += o.gap_objects;
  gap_seqs += o.gap_seqs;
  other_objects += o.other_objects;
  errors += o.errors;
  bad_answers += o.bad_answers;
  closes += o.closes;
  waits += o.waits;
  wait_ms_sum += o.wait_ms_sum;
  wait_ms_max = std::max(wait_ms_max, o.wait_ms_max);
  parked += o.parked;
  sse_streams += o.sse_streams;
  sse_events += o.sse_events;
  sse_comments += o.sse_comments;
}

HttpViewers::HttpViewers(const Options& opt, UringClient* client, HttpViewerSink* sink)
    : opt_(opt), transport_(opt.transport), client_(client), sink_(sink) {}

void HttpViewers::Init(uint32_t conns) { viewers_.resize(conns); }

void HttpViewers::Open(uint32_t conn, uint64_t source_index, std::string_view room,
                       std::string_view user) {
  Viewer& v = viewers_[conn];
  v = Viewer{};
  v.path = transport_ == Transport::kSse ? SseRequest(opt_.target, room, user)
                                         : LongPollPath(room, user);
  client_->OpenRaw(conn, source_index);
}

void HttpViewers::OnOpen(uint32_t conn) {
  Viewer& v = viewers_[conn];
  if (transport_ == Transport::kSse) {
    v.phase = Phase::kAsked;
    ++counters_.requests;
    client_->Send(conn, v.path);
    std::string().swap(v.path);  // sent once; the stream needs nothing more
    return;
  }
  Poll(conn);
}

void HttpViewers::Poll(uint32_t conn) {
  Viewer& v = viewers_[conn];
  request_.clear();
  AppendLongPollRequest(&request_, opt_.target, v.path, v.cursor);
  v.phase = Phase::kAsked;
  ++counters_.requests;
  client_->Send(conn, request_);
  if (!v.cursor.empty() && !v.parked) {
    v.parked = true;
    ++counters_.parked;
    sink_->OnViewerParked(conn);
  }
}

void HttpViewers::After(uint32_t conn, uint32_t wait_ms) {
  if (wait_ms == 0) return Poll(conn);
  viewers_[conn].phase = Phase::kWaiting;
  timers_.emplace(NowNs() + uint64_t{wait_ms} * 1000000, conn);
}

void HttpViewers::FireDue(uint64_t now_ns) {
  // Each viewer has at most one wait pending, so this ends after at most one pop per viewer.
  while (!timers_.empty() && timers_.top().first <= now_ns) {
    const uint32_t conn = timers_.top().second;
    timers_.pop();
    if (viewers_[conn].phase == Phase::kWaiting && client_->State(conn) == ConnState::kOpen) {
      Poll(conn);
    }
  }
}

void HttpViewers::NoteError(uint32_t conn, std::string_view what) {
  if (++errors_logged_ > kErrorsLogged) return;
  // The status line and the body on one line: the head's other fields say little.
  const size_t eol = what.find("\r\n");
  const size_t body = what.find("\r\n\r\n");
  std::string line(what.substr(0, std::min(eol, size_t{120})));
  if (body != std::string_view::npos) {
    line += " | ";
    line += what.substr(body + 4, 200);
  }
  for (char& c : line) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  std::fprintf(stderr, "roomcast-load: %s viewer %u: %s\n",
               transport_ == Transport::kSse ? "SSE" : "long-poll", conn, line.c_str());
}

size_t HttpViewers::OnRaw(uint32_t conn, std::string_view data) {
  if (transport_ == Transport::kSse) return OnStream(conn, data);
  return ForEachHttpResponse(
      data,
      [&](const HttpResponse& r, std::string_view whole) {
        OnAnswer(conn, r, whole);
        return client_->State(conn) == ConnState::kOpen;
      },
      [&](std::string_view rest) {
        ++counters_.bad_answers;
        NoteError(conn, rest);
        client_->Abort(conn, FailStage::kProtocol);  // data may be gone after this
      });
}

void HttpViewers::OnAnswer(uint32_t conn, const HttpResponse& r, std::string_view whole) {
  Viewer& v = viewers_[conn];
  ++counters_.responses;
  if (r.close) ++counters_.closes;
  if (v.phase != Phase::kAsked) {  // one request at a time: an answer nobody asked for
    ++counters_.bad_answers;
    NoteError(conn, whole);
    return client_->Abort(conn, FailStage::kProtocol);
  }
  if (r.status != 200) {
    ++counters_.errors;
    NoteError(conn, whole);
    // Refused before it joined: the viewer never got in (counted as failed at "upgrade", as a
    // WebSocket join without its 101).
    if (!v.joined) return client_->Abort(conn, FailStage::kUpgrade);
    if (whole.find("bad_cursor") != std::string_view::npos) v.cursor.clear();
    v.phase = Phase::kDone;
    if (!r.close) After(conn, kErrorBackoffMs);
    return;
  }
  if (r.chunked) {  // the contract says Content-Length; the object scan needs a plain body
    ++counters_.bad_answers;
    NoteError(conn, whole);
    return client_->Abort(conn, FailStage::kProtocol);
  }
  const std::string_view body = whole.substr(r.body_offset);
  PollAnswer answer;
  if (!v.joined) {
    v.joined = true;
    sink_->OnViewerJoined(conn);
  }
  uint64_t objects = 0;
  const bool ok = ScanPollBody(body, &answer, [&](ServerKind kind, std::string_view object) {
    ++objects;
    switch (kind) {
      case ServerKind::kMsg:
        ++counters_.msg_objects;
        break;
      case ServerKind::kGap:
        ++counters_.gap_objects;
        counters_.gap_seqs += GapSeqs(object);
        break;
      default:
        ++counters_.other_objects;
        break;
    }
    sink_->OnViewerObject(conn, kind, object);
  });
  if (!ok) {
    ++counters_.bad_answers;
    NoteError(conn, whole);
    return client_->Abort(conn, FailStage::kProtocol);
  }
  if (objects == 0) ++counters_.empty_responses;
  if (answer.has_timeout) {
    ++counters_.waits;
    counters_.wait_ms_sum += answer.timeout_ms;
    counters_.wait_ms_max = std::max<uint64_t>(counters_.wait_ms_max, answer.timeout_ms);
  }
  v.cursor.assign(answer.cursor);
  if (r.close) {  // draining: the server closes after this answer
    v.phase = Phase::kDone;
    return;
  }
  After(conn, answer.timeout_ms);
}

size_t HttpViewers::OnStream(uint32_t conn, std::string_view data) {
  Viewer& v = viewers_[conn];
  size_t pos = 0;
  if (v.phase == Phase::kAsked) {
    HttpResponse r;
    long long content_length = -1;
    switch (ScanResponseHead(data, &r, &content_length)) {
      case HttpScan::kIncomplete:
        return 0;
      case HttpScan::kBad:
        ++counters_.bad_answers;
        NoteError(conn, data);
        client_->Abort(conn, FailStage::kProtocol);
        return data.size();
      case HttpScan::kComplete:
        break;
    }
    if (r.status != 200 || r.content_type.substr(0, 17) != "text/event-stream") {
      ++counters_.errors;
      NoteError(conn, data);
      client_->Abort(conn, FailStage::kUpgrade);
      return data.size();
    }
    ++counters_.sse_streams;
    v.phase = Phase::kStreaming;
    pos = r.body_offset;
  }
  if (v.phase != Phase::kStreaming) return data.size();
  const size_t used =
      ScanSseEvents(data.substr(pos), &counters_.sse_comments, [&](const SseEvent& ev) {
        ++counters_.sse_events;
        if (ev.event == "msg") {
          ++counters_.msg_objects;
          return sink_->OnViewerObject(conn, ServerKind::kMsg, ev.data);
        }
        if (ev.event == "welcome") {
          if (!v.joined) {
            v.joined = true;
            return sink_->OnViewerJoined(conn);
          }
        } else if (ev.event == "gap") {
          ++counters_.gap_objects;
          counters_.gap_seqs += GapSeqs(ev.data);
          return sink_->OnViewerObject(conn, ServerKind::kGap, ev.data);
        }
        ++counters_.other_objects;
        sink_->OnViewerObject(conn, Classify(ev.data), ev.data);
      });
  return pos + used;
}

}  // namespace roomcast::load
