// The access log's view of the sessions (--access-log; base/access_log.h has the file and the
// formats). Each connection has one record: its current request, opened when the request head is
// read (Begin) and written out as a line when the request is answered (Answered), or, for a
// request that became a WebSocket or an SSE stream (101, 200 on /events), when the connection
// closes (Closed). A long-poll's line is written when the poll is answered, however long it was
// held. A request still unanswered when its connection closes is written with status 499.
//
// The record travels with its request, not with the shard: an answer that comes back from the
// owner or from a room's batch finds the record of exactly the request it answers by the
// connection it is for, and a connection has at most one request being answered at a time (the
// sessions hold pipelined input until then). Bytes are counted by the ConnOutput the sessions
// write through (Wrap): everything queued on the connection while the record is open, less what a
// slow viewer skipped. Tokens never reach the log: a `token=` query value is written as
// <redacted>, and no header is logged. Off (no writer), Wrap returns the loop's output untouched
// and the rest does nothing. Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/access_log.h"
#include "conn_output.h"
#include "http/http_parser.h"
#include "session_table.h"

namespace roomcast::session {

// The request target as the access log writes it: at most kMaxTarget bytes of path and query,
// every `token` parameter's value replaced by <redacted>, and anything not printable ASCII
// (and '"', '\\') written as \xHH.
[[nodiscard]] std::string LoggedTarget(std::string_view path, std::string_view query);
inline constexpr size_t kMaxLoggedTarget = 1024;

class AccessRecords {
 public:
  // writer null: the access log is off.
  AccessRecords(AccessLogWriter* writer, SessionTable* table);
  ~AccessRecords();
  AccessRecords(const AccessRecords&) = delete;
  AccessRecords& operator=(const AccessRecords&) = delete;

  // The output the sessions write through: inner itself when off, else a counting wrapper
  // (which must outlive nothing but this object).
  ConnOutput* Wrap(ConnOutput* inner);
  [[nodiscard]] bool On() const { return writer_ != nullptr && writer_->On(); }

  // A request head was read on c.
  void Begin(ConnId c, const http::Request& req);
  // c's request got its answer (or c, with no request read, an error or a refusal): a line,
  // unless the answer opened a stream.
  void Answered(ConnId c, int status);
  // c is closing for good: the line of a stream, or of a request nobody answered (499).
  void Closed(ConnId c);

 private:
  enum class State : uint8_t { kIdle, kOpen, kStream };
  struct Record {
    uint64_t start_ms = 0;
    uint64_t bytes = 0;
    std::string request;  // "METHOD TARGET"
    uint16_t method_len = 0;
    int16_t status = 0;
    Transport transport = Transport::kHttp;
    State state = State::kIdle;
  };
  class CountingOutput;

  Record& At(ConnId c);
  void Write(ConnId c, Record& r, int status);
  void AddBytes(ConnId c, uint64_t n) { At(c).bytes += n; }
  void SubBytes(ConnId c, uint64_t n);

  AccessLogWriter* writer_;
  SessionTable& table_;
  ConnOutput* inner_ = nullptr;
  std::vector<Record> records_;  // by connection slot, grown on first use
  std::unique_ptr<CountingOutput> counting_;
};

}  // namespace roomcast::session
