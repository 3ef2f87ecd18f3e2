// The SSE resume position: a Last-Event-ID header as the server reads it (request head, header
// lookup, sse::ParseEventId). Accepted ids agree with a plain reference (spaces and tabs around
// 1..19 digits, optionally ":" and an epoch of 1..64 letters and digits) and an id the server
// writes (sse::AppendEvent, with and without an epoch) parses back to itself.
#include <cctype>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/http_parser.h"
#include "sse/sse_event.h"

namespace {

bool ReferenceSeq(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

bool ReferenceEventId(std::string_view s, uint64_t* out, std::string* epoch) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return false;
  s = s.substr(b, s.find_last_not_of(" \t") - b + 1);
  epoch->clear();
  const size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    const std::string_view e = s.substr(colon + 1);
    if (e.empty() || e.size() > 64) return false;
    for (char c : e) {
      if (!isalnum(static_cast<unsigned char>(c))) return false;
    }
    epoch->assign(e);
    s = s.substr(0, colon);
  }
  return ReferenceSeq(s, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);

  uint64_t id = 0, ref = 0;
  std::string_view epoch;
  std::string ref_epoch;
  const bool ok = roomcast::sse::ParseEventId(value, &id, &epoch);
  FUZZ_CHECK(ok == ReferenceEventId(value, &ref, &ref_epoch));
  if (ok) {
    FUZZ_CHECK(id == ref && epoch == ref_epoch);
    // The plain form (no epoch) is the older parser's answer.
    uint64_t plain = 0;
    FUZZ_CHECK(roomcast::sse::ParseEventId(value, &plain) == epoch.empty());
    // What the server sends as "id: N[:E]" comes back as the same N and E.
    std::string ev;
    roomcast::sse::AppendEvent(&ev, "message", true, id, "{}", epoch);
    const size_t nl = ev.find('\n');
    FUZZ_CHECK(ev.compare(0, 4, "id: ") == 0 && nl != std::string::npos);
    uint64_t back = 0;
    std::string_view back_epoch;
    FUZZ_CHECK(
        roomcast::sse::ParseEventId(std::string_view(ev).substr(4, nl - 4), &back, &back_epoch));
    FUZZ_CHECK(back == id && back_epoch == epoch);
  }

  // The same value inside a request head, as a browser's EventSource sends it on reconnect (a
  // CR or LF would end the header line there and change the value: not the same question).
  if (value.find_first_of("\r\n") != std::string_view::npos) return 0;
  const std::string head =
      "GET /sse?room=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + std::string(value) + "\r\n\r\n";
  static roomcast::http::Request req;
  if (roomcast::http::ParseRequestHead(head, {}, &req) == roomcast::http::ParseStatus::kComplete) {
    bool found = false;
    const std::string_view got = req.Find("last-event-id", &found);
    FUZZ_CHECK(found);
    uint64_t via_head = 0;
    std::string_view via_head_epoch;
    // The parser trims spaces and tabs, ParseEventId trims them too: the same answer either way.
    FUZZ_CHECK(roomcast::sse::ParseEventId(got, &via_head, &via_head_epoch) == ok);
    if (ok) FUZZ_CHECK(via_head == id && via_head_epoch == epoch);
  }
  return 0;
}
