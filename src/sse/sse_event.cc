#include "sse/sse_event.h"

#include <charconv>

#include "http/http_parser.h"

namespace roomcast::sse {

void AppendEvent(std::string* out, std::string_view event, bool has_id, uint64_t id,
                 std::string_view data, std::string_view epoch) {
  out->reserve(out->size() + data.size() + event.size() + epoch.size() + 40);
  if (has_id) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof(buf), id);
    out->append("id: ");
    out->append(buf, res.ptr);
    if (!epoch.empty()) {
      out->push_back(':');
      out->append(epoch);
    }
    out->push_back('\n');
  }
  out->append("event: ");
  out->append(event);
  out->append("\ndata: ");
  out->append(data);
  out->append("\n\n");
}

void AppendComment(std::string* out, std::string_view text) {
  out->append(": ");
  out->append(text);
  out->append("\n\n");
}

std::string StreamHead(uint32_t retry_ms, std::string_view extra_headers) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\n";
  out.append(extra_headers);
  out.append("\r\nretry: ");
  char buf[16];
  const auto res = std::to_chars(buf, buf + sizeof(buf), retry_ms);
  out.append(buf, res.ptr);
  out.append("\n\n");
  return out;
}

bool ParseEventId(std::string_view text, uint64_t* id) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return http::ParseDecimal(text, id);
}

bool ParseEventId(std::string_view text, uint64_t* id, std::string_view* epoch) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  const size_t colon = text.find(':');
  std::string_view e;
  if (colon != std::string_view::npos) {
    e = text.substr(colon + 1);
    if (!IsValidEpoch(e)) return false;
    text = text.substr(0, colon);
  }
  if (!http::ParseDecimal(text, id)) return false;
  *epoch = e;
  return true;
}

bool IsValidEpoch(std::string_view epoch) {
  if (epoch.empty() || epoch.size() > 64) return false;
  for (char ch : epoch) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
      return false;
    }
  }
  return true;
}

}  // namespace roomcast::sse
