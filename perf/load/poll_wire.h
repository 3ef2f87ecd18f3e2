// The client side of roomcast's HTTP viewer transports (docs/protocol.md, "Long-poll" and
// "Server-sent events"), as cheap as the WebSocket side: request builders, and scanners that find
// message objects by their `{"type":"` prefix instead of parsing JSON. A JSON string cannot hold
// an unescaped quote, so `{"type":"` only ever starts an object, never sits inside a text.
// Pure functions and templates, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "options.h"
#include "ws_client.h"

namespace roomcast::load {

// "/rooms/<room>/messages?user=<user>": the long-poll path, to which a request adds
// "&history=0" (the first poll) or "&cursor=C".
[[nodiscard]] std::string LongPollPath(std::string_view room, std::string_view user);

// Appends a keep-alive GET of path + (cursor empty ? "&history=0" : "&cursor=" + cursor).
void AppendLongPollRequest(std::string* out, const Target& t, std::string_view path,
                           std::string_view cursor);

// The GET of "/rooms/<room>/events?user=<user>" that opens a server-sent event stream.
[[nodiscard]] std::string SseRequest(const Target& t, std::string_view room, std::string_view user);

// What a long-poll answer's body says besides its messages.
struct PollAnswer {
  std::string_view cursor;  // a view into the body
  uint32_t timeout_ms = 0;
  bool has_cursor = false;
  bool has_timeout = false;
};

// The seqs a gap object names, {"type":"gap",...,"from":A,"to":B}: B - A + 1, or 0 if unreadable.
[[nodiscard]] uint64_t GapSeqs(std::string_view gap_object);

namespace poll_wire_detail {
inline constexpr std::string_view kObjectStart = R"({"type":")";
// The first occurrence of key at or after from, or npos.
inline size_t Find(std::string_view s, size_t from, std::string_view key) {
  if (from >= s.size()) return std::string_view::npos;
  const void* hit = memmem(s.data() + from, s.size() - from, key.data(), key.size());
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - s.data())
             : std::string_view::npos;
}
// Fills the cursor and timeoutMs fields of *a from the members found at or after from.
bool FindAnswerFields(std::string_view body, size_t from, PollAnswer* a);
}  // namespace poll_wire_detail

// Scans a long-poll answer body: calls on_object(kind, object) for every object in "messages", in
// order (the object's text runs to the start of the next one, or to the end of the body for the
// last: enough for Classify and ParseMsgStamp), then fills *answer. False when the body carries
// no cursor (not a long-poll answer).
template <class OnObject>
bool ScanPollBody(std::string_view body, PollAnswer* answer, OnObject&& on_object) {
  using poll_wire_detail::Find;
  using poll_wire_detail::kObjectStart;
  size_t at = Find(body, 0, kObjectStart);
  size_t last = 0;
  while (at != std::string_view::npos) {
    const size_t next = Find(body, at + kObjectStart.size(), kObjectStart);
    const std::string_view object =
        body.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
    on_object(Classify(object), object);
    last = at;
    at = next;
  }
  // The members usually follow the array: look after the last object first, then everywhere.
  return poll_wire_detail::FindAnswerFields(body, last, answer) ||
         (last != 0 && poll_wire_detail::FindAnswerFields(body, 0, answer));
}

// One server-sent event: its `event:` name ("message" when absent) and its `data:` (the lines of
// a multi-line data joined are not needed: roomcast's JSON is one line; the first line is given).
struct SseEvent {
  std::string_view event;
  std::string_view data;
};

// Calls on_event for each whole event (a block of lines ended by an empty line) at the start of
// buf that has a data line; counts comment lines (": hb") in *comments; `retry:` and `id:` lines
// are skipped. Lines end with "\n" or "\r\n". Returns the bytes consumed: the caller keeps the
// rest (an incomplete event) for the next read.
template <class OnEvent>
size_t ScanSseEvents(std::string_view buf, uint64_t* comments, OnEvent&& on_event) {
  size_t pos = 0, consumed = 0;
  SseEvent ev;
  bool has_data = false;
  while (pos < buf.size()) {
    const void* nl = std::memchr(buf.data() + pos, '\n', buf.size() - pos);
    if (!nl) break;
    const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - buf.data());
    std::string_view line = buf.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // the end of a block
      if (has_data) {
        if (ev.event.empty()) ev.event = "message";
        on_event(ev);
      }
      ev = SseEvent{};
      has_data = false;
      consumed = pos;
      continue;
    }
    if (line[0] == ':') {
      ++*comments;
      continue;
    }
    const size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (field == "event") {
      ev.event = value;
    } else if (field == "data" && !has_data) {
      ev.data = value;
      has_data = true;
    }
  }
  return consumed;
}

}  // namespace roomcast::load
