// Long-poll and SSE requests and the answer fields for poll_wire.h.
#include "poll_wire.h"

namespace roomcast::load {

namespace {

void AppendGetHead(std::string* out, const Target& t, std::string_view accept) {
  *out += " HTTP/1.1\r\nHost: ";
  *out += t.host_header;
  *out += "\r\nAccept: ";
  *out += accept;
  *out += "\r\nUser-Agent: roomcast-load\r\n\r\n";
}

// Digits at s[pos..]; false when there are none.
bool ReadNumber(std::string_view s, size_t pos, uint64_t* out) {
  uint64_t v = 0;
  size_t i = pos;
  while (i < s.size() && i - pos < 20 && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == pos) return false;
  *out = v;
  return true;
}

}  // namespace

std::string LongPollPath(std::string_view room, std::string_view user) {
  std::string p = "/rooms/";
  p += room;
  p += "/messages?user=";
  p += user;
  return p;
}

void AppendLongPollRequest(std::string* out, const Target& t, std::string_view path,
                           std::string_view cursor) {
  *out += "GET ";
  *out += path;
  if (cursor.empty()) {
    *out += "&history=0";
  } else {
    *out += "&cursor=";
    *out += cursor;
  }
  AppendGetHead(out, t, "application/json");
}

std::string SseRequest(const Target& t, std::string_view room, std::string_view user) {
  std::string r = "GET /rooms/";
  r += room;
  r += "/events?user=";
  r += user;
  AppendGetHead(&r, t, "text/event-stream");
  return r;
}

uint64_t GapSeqs(std::string_view gap) {
  using poll_wire_detail::Find;
  uint64_t from = 0, to = 0;
  const size_t f = Find(gap, 0, R"("from":)");
  const size_t t = Find(gap, 0, R"("to":)");
  if (f == std::string_view::npos || t == std::string_view::npos) return 0;
  if (!ReadNumber(gap, f + 7, &from) || !ReadNumber(gap, t + 5, &to) || to < from) return 0;
  return to - from + 1;
}

namespace poll_wire_detail {

bool FindAnswerFields(std::string_view body, size_t from, PollAnswer* a) {
  constexpr std::string_view kCursor = R"("cursor":")";
  constexpr std::string_view kTimeout = R"("timeoutMs":)";
  const size_t c = Find(body, from, kCursor);
  if (c == std::string_view::npos) return false;
  const size_t start = c + kCursor.size();
  const size_t end = body.find('"', start);
  if (end == std::string_view::npos) return false;
  a->cursor = body.substr(start, end - start);
  a->has_cursor = true;
  size_t t = Find(body, end, kTimeout);
  if (t == std::string_view::npos) t = Find(body, from, kTimeout);
  uint64_t ms = 0;
  if (t != std::string_view::npos && ReadNumber(body, t + kTimeout.size(), &ms)) {
    a->timeout_ms = static_cast<uint32_t>(ms > 0xffffffffu ? 0xffffffffu : ms);
    a->has_timeout = true;
  }
  return true;
}

}  // namespace poll_wire_detail

}  // namespace roomcast::load
