// Viewers that read a room over HTTP instead of a WebSocket: long-poll (a keep-alive connection
// that GETs /rooms/R/messages again and again, each time with the cursor of the last answer, after
// waiting the answer's timeoutMs) or server-sent events (one GET /rooms/R/events whose answer
// streams). Each viewer is a raw connection of the owner's UringClient; this class keeps what the
// protocol needs per viewer (its path, its cursor, where it stands) and a shared timer heap for
// the waits, and hands every message object it reads to a sink, which runs the same checks as for
// a WebSocket viewer.
//
// Thread affinity: the worker thread that owns the UringClient, only. The owner forwards its
// ClientHandler::OnOpen and OnRaw for these connections here, and calls FireDue before each
// UringClient::Poll (with the poll's deadline capped at NextDue) so that waits end on time.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_response.h"
#include "options.h"
#include "uring_client.h"
#include "ws_client.h"

namespace roomcast::load {

// Figures of one worker's HTTP viewers; plain counters, copied into shared memory at the end.
struct HttpViewerCounters {
  uint64_t requests = 0;         // GETs sent (long-poll: every poll; SSE: one per stream)
  uint64_t responses = 0;        // long-poll answers received (any status)
  uint64_t msg_objects = 0;      // {"type":"msg"} objects read (long-poll answers, SSE msg events)
  uint64_t empty_responses = 0;  // 200 long-poll answers without any object (the hold expired)
  uint64_t gap_objects = 0;      // {"type":"gap"} objects / gap events
  uint64_t gap_seqs = 0;         // seqs those gaps say are gone
  uint64_t other_objects = 0;    // any other object or event (bye, error, welcome of SSE ...)
  uint64_t errors = 0;           // answers whose status is not 200 (SSE: or not an event stream)
  uint64_t bad_answers = 0;      // 200 long-poll answers without a cursor
  uint64_t closes = 0;           // answers with Connection: close (drain)
  uint64_t waits = 0;            // answers that named a timeoutMs
  uint64_t wait_ms_sum = 0;      // the timeoutMs values summed
  uint64_t wait_ms_max = 0;      // and their maximum (since the last StartWindow)
  uint64_t parked = 0;           // long-poll viewers that sent their first poll with a cursor
  uint64_t sse_streams = 0;      // SSE answers opened with 200 text/event-stream
  uint64_t sse_events = 0;       // SSE events of any kind
  uint64_t sse_comments = 0;     // SSE comment lines (": hb" heartbeats)

  // this - earlier, field by field (wait_ms_max is this one's).
  [[nodiscard]] HttpViewerCounters Since(const HttpViewerCounters& earlier) const;
  void Add(const HttpViewerCounters& other);  // sums (wait_ms_max: the larger)
};

class HttpViewerSink {
 public:
  // The viewer is in the room: its first long-poll answer (a cursor at the room's head) or its
  // SSE welcome event arrived. Called once per viewer.
  virtual void OnViewerJoined(uint32_t conn) = 0;
  // One object the viewer read after it joined (a long-poll messages[] entry, an SSE event's data).
  virtual void OnViewerObject(uint32_t conn, ServerKind kind, std::string_view object) = 0;
  // Long-poll: the viewer sent its first poll with a cursor (the server holds it in a quiet room).
  virtual void OnViewerParked(uint32_t /*conn*/) {}

 protected:
  ~HttpViewerSink() = default;
};

class HttpViewers {
 public:
  HttpViewers(const Options& opt, UringClient* client, HttpViewerSink* sink);

  [[nodiscard]] Transport Kind() const { return transport_; }
  // Room for connection ids 0 .. conns-1 (not all need be viewers).
  void Init(uint32_t conns);
  // Opens viewer `conn` as a raw connection of the client; the GET goes out once connected.
  void Open(uint32_t conn, uint64_t source_index, std::string_view room, std::string_view user);
  // The owner's ClientHandler::OnOpen / OnRaw for a viewer connection.
  void OnOpen(uint32_t conn);
  [[nodiscard]] size_t OnRaw(uint32_t conn, std::string_view data);

  // Sends the polls whose wait has ended by now_ns.
  void FireDue(uint64_t now_ns);
  // The earliest pending wait's end (CLOCK_MONOTONIC ns), or ~0 when none is pending.
  [[nodiscard]] uint64_t NextDue() const {
    return timers_.empty() ? ~uint64_t{0} : timers_.top().first;
  }

  // Restarts wait_ms_max (the measured window begins).
  void StartWindow() { counters_.wait_ms_max = 0; }
  [[nodiscard]] const HttpViewerCounters& Counters() const { return counters_; }

 private:
  enum class Phase : uint8_t { kConnecting, kAsked, kWaiting, kStreaming, kDone };
  struct Viewer {
    std::string path;    // long-poll: the path the poll adds its cursor to; SSE: the request
    std::string cursor;  // long-poll: the last answer's cursor (empty: none yet)
    Phase phase = Phase::kConnecting;
    bool joined = false;
    bool parked = false;  // long-poll: a poll with a cursor went out
  };

  void Poll(uint32_t conn);  // long-poll: sends the next GET
  void After(uint32_t conn, uint32_t wait_ms);
  // One whole long-poll answer (head and body) of viewer conn.
  void OnAnswer(uint32_t conn, const HttpResponse& r, std::string_view whole);
  [[nodiscard]] size_t OnStream(uint32_t conn, std::string_view data);
  void NoteError(uint32_t conn, std::string_view what);

  const Options& opt_;
  Transport transport_;
  UringClient* client_;
  HttpViewerSink* sink_;
  std::vector<Viewer> viewers_;
  using Timer = std::pair<uint64_t, uint32_t>;  // (due ns, conn)
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::string request_;
  uint32_t errors_logged_ = 0;
  HttpViewerCounters counters_;
};

}  // namespace roomcast::load
