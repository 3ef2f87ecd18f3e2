// Response builders. Each builds the whole response in one string sized up front, so a response
// costs one allocation and can be queued for a single write.
#include <charconv>
#include <string>
#include <string_view>

#include "base/json_writer.h"
#include "http/http_parser.h"

namespace roomcast::http {
namespace {

// RFC 7230 3.3.2/3.3.3: 1xx, 204 and 304 responses never carry a body, and a Content-Length on
// them would make some clients wait for bytes that never come.
constexpr bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

void AppendInt(std::string* out, uint64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

}  // namespace

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string BuildResponse(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, std::string_view extra_headers) {
  const bool has_body = StatusHasBody(status);
  const std::string_view reason = ReasonPhrase(status);
  // Fixed text below is under 128 bytes; one reserve keeps this to a single allocation.
  std::string out;
  out.reserve(128 + reason.size() + content_type.size() + extra_headers.size() +
              (has_body ? body.size() : 0));
  out.append("HTTP/1.1 ");
  AppendInt(&out, static_cast<uint64_t>(status < 0 ? 0 : status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
  if (!content_type.empty()) {
    out.append("Content-Type: ");
    out.append(content_type);
    out.append("\r\n");
  }
  if (has_body) {
    out.append("Content-Length: ");
    AppendInt(&out, body.size());
    out.append("\r\n");
  }
  out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  out.append("Cache-Control: no-store\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  if (has_body) out.append(body);
  return out;
}

std::string BuildJsonError(int status, std::string_view code, std::string_view message,
                           bool keep_alive, std::string_view extra_headers) {
  std::string body;
  body.reserve(32 + code.size() + message.size());
  body.append("{\"error\":");
  json::AppendString(&body, code);
  body.append(",\"message\":");
  json::AppendString(&body, message);
  body.push_back('}');
  return BuildResponse(status, "application/json", body, keep_alive, extra_headers);
}

}  // namespace roomcast::http
