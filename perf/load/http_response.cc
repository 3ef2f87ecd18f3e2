// HTTP/1.1 response framing for http_response.h.
#include "http_response.h"

#include <cctype>
#include <cstdlib>
#include <string>

namespace roomcast::load {

namespace {

constexpr size_t kMaxHead = 16384;

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (EqualsNoCase(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The end of a chunked body starting at buf[pos]: kComplete with *end set past the last chunk's
// trailer, kIncomplete, or kBad.
HttpScan ScanChunked(std::string_view buf, size_t pos, size_t* end) {
  for (;;) {
    const size_t eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return HttpScan::kIncomplete;
    const std::string size_text(buf.substr(pos, eol - pos));
    char* stop = nullptr;
    const unsigned long long size = std::strtoull(size_text.c_str(), &stop, 16);
    if (stop == size_text.c_str()) return HttpScan::kBad;
    pos = eol + 2;
    if (size == 0) {  // trailers, then an empty line
      for (;;) {
        const size_t line_end = buf.find("\r\n", pos);
        if (line_end == std::string_view::npos) return HttpScan::kIncomplete;
        const bool empty = line_end == pos;
        pos = line_end + 2;
        if (empty) {
          *end = pos;
          return HttpScan::kComplete;
        }
      }
    }
    if (buf.size() - pos < size + 2) return HttpScan::kIncomplete;
    pos += static_cast<size_t>(size) + 2;
  }
}

}  // namespace

HttpScan ScanResponseHead(std::string_view buf, HttpResponse* resp, long long* content_length) {
  const size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    return buf.size() > kMaxHead ? HttpScan::kBad : HttpScan::kIncomplete;
  }
  const std::string_view head = buf.substr(0, head_end);
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return HttpScan::kBad;
  const size_t sp = head.find(' ');
  if (sp == std::string_view::npos || head.size() < sp + 4) return HttpScan::kBad;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (head[i] < '0' || head[i] > '9') return HttpScan::kBad;
    status = status * 10 + (head[i] - '0');
  }
  HttpResponse r;
  r.status = status;
  r.body_offset = head_end + 4;
  *content_length = -1;
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos) {
    const size_t start = line + 2;
    const size_t next = head.find("\r\n", start);
    const std::string_view field =
        head.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    const size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = Trim(field.substr(0, colon));
      const std::string_view value = Trim(field.substr(colon + 1));
      if (EqualsNoCase(name, "content-length")) {
        *content_length = std::strtoll(std::string(value).c_str(), nullptr, 10);
      } else if (EqualsNoCase(name, "transfer-encoding")) {
        r.chunked = ContainsNoCase(value, "chunked");
      } else if (EqualsNoCase(name, "connection")) {
        r.close = ContainsNoCase(value, "close");
      } else if (EqualsNoCase(name, "content-type")) {
        r.content_type = value;
      }
    }
    line = next;
  }
  *resp = r;
  return HttpScan::kComplete;
}

HttpScan ScanHttpResponse(std::string_view buf, HttpResponse* resp, size_t* used) {
  HttpResponse r;
  long long content_length = -1;
  const HttpScan head = ScanResponseHead(buf, &r, &content_length);
  if (head != HttpScan::kComplete) return head;
  const size_t body_start = r.body_offset;
  size_t end = body_start;
  if ((r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304) {
    end = body_start;
  } else if (r.chunked) {
    const HttpScan s = ScanChunked(buf, body_start, &end);
    if (s != HttpScan::kComplete) return s;
  } else if (content_length >= 0) {
    if (buf.size() - body_start < static_cast<unsigned long long>(content_length)) {
      return HttpScan::kIncomplete;
    }
    end = body_start + static_cast<size_t>(content_length);
  } else {
    return HttpScan::kBad;  // a body delimited by the close: not from a keep-alive server
  }
  *resp = r;
  *used = end;
  return HttpScan::kComplete;
}

}  // namespace roomcast::load
