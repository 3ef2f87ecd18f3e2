// The files the binary serves itself: the JS client (/roomcast.js, /roomcast.d.ts) and the demo
// chat page (/). They are web/* turned into byte arrays at build time (scripts/embed_web.py), each
// with its Content-Type and a strong ETag computed then. Pure functions over constant data: any
// thread may call them. Knows HTTP only as far as writing one response.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace roomcast::web {

struct StaticFile {
  std::string_view path;          // "/" for the demo page, "/<name>" for the others
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, e.g. "\"3f2a...\""
  std::string_view body;
  bool demo;  // part of the demo (hidden by --no-demo)
};

// Every embedded file (generated code).
[[nodiscard]] std::span<const StaticFile> EmbeddedFiles();

// The file served at `path`, or nullptr (unknown path, or a demo file while the demo is off).
[[nodiscard]] const StaticFile* FindStatic(std::string_view path, bool demo_on);

// The whole HTTP response for a GET (or, with head, a HEAD: the same headers, no body). An
// If-None-Match naming the file's ETag (or "*") gets 304. Cache-Control: no-cache, so browsers
// keep the file but ask again each time (a 304 costs a few bytes): a new build shows at once.
// extra_headers: complete header lines (CORS), appended as they are.
// True when an If-None-Match list names etag (weak or strong) or is "*".
[[nodiscard]] bool EtagMatches(std::string_view list, std::string_view etag);

[[nodiscard]] std::string StaticResponse(const StaticFile& f, bool head,
                                         std::string_view if_none_match, bool keep_alive,
                                         std::string_view extra_headers);

}  // namespace roomcast::web
