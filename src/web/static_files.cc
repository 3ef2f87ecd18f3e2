// Serving the embedded web files: lookup and the response (see web/static_files.h).
#include "web/static_files.h"

namespace roomcast::web {

bool EtagMatches(std::string_view list, std::string_view etag) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view one = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    if (one.substr(0, 2) == "W/") one.remove_prefix(2);
    if (one == "*" || one == etag) return true;
  }
  return false;
}

const StaticFile* FindStatic(std::string_view path, bool demo_on) {
  if (path == "/index.html") path = "/";
  for (const StaticFile& f : EmbeddedFiles()) {
    if (f.path == path) return f.demo && !demo_on ? nullptr : &f;
  }
  return nullptr;
}

std::string StaticResponse(const StaticFile& f, bool head, std::string_view if_none_match,
                           bool keep_alive, std::string_view extra_headers) {
  const bool fresh = !if_none_match.empty() && EtagMatches(if_none_match, f.etag);
  std::string out;
  out.reserve(256 + extra_headers.size() + (head || fresh ? 0 : f.body.size()));
  out.append(fresh ? "HTTP/1.1 304 Not Modified\r\n" : "HTTP/1.1 200 OK\r\n");
  if (!fresh) {
    out.append("Content-Type: ").append(f.content_type).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(f.body.size())).append("\r\n");
  }
  out.append("ETag: ").append(f.etag).append("\r\n");
  out.append("Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n");
  out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  if (!fresh && !head) out.append(f.body);
  return out;
}

}  // namespace roomcast::web
