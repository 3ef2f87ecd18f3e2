// ParseRequestHead over arbitrary bytes. Beyond "no crash": every view points into the input, the
// head is no longer than the input or the limit, the target splits into path and query exactly,
// and bytes arriving in two pieces give the same answer as bytes arriving at once (the server
// parses again after every receive, so a head must not be accepted or refused early).
#include <string_view>

#include "fuzz_check.h"
#include "http/http_parser.h"

using roomcast::fuzz::ByteTaker;
using roomcast::fuzz::Inside;
using roomcast::http::ParseLimits;
using roomcast::http::ParseRequestHead;
using roomcast::http::ParseStatus;
using roomcast::http::Request;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteTaker take(data, size);
  ParseLimits limits;
  // Small limits too, so that kHeadTooLarge is reached with the fuzzer's short inputs.
  const uint8_t knob = take.Byte();
  limits.max_head_bytes = (knob & 1) != 0 ? 8192 : 16 + take.U16() % 1024;
  limits.max_headers = (knob & 2) != 0 ? 64 : take.Byte() % 8;
  const size_t split_seed = take.U16();
  const std::string_view buf = take.Rest();

  static Request req;  // reused across inputs as a shard reuses it: leftovers must not matter
  const ParseStatus st = ParseRequestHead(buf, limits, &req);
  size_t head_bytes = 0;
  if (st == ParseStatus::kComplete) {
    head_bytes = req.head_bytes;
    FUZZ_CHECK(head_bytes > 0 && head_bytes <= buf.size());
    FUZZ_CHECK(head_bytes <= limits.max_head_bytes);
    FUZZ_CHECK(buf[head_bytes - 1] == '\n');
    FUZZ_CHECK(req.header_count <= limits.max_headers);
    FUZZ_CHECK(req.version_minor == 0 || req.version_minor == 1);
    const std::string_view head = buf.substr(0, head_bytes);
    FUZZ_CHECK(Inside(req.method, head) && Inside(req.target, head));
    FUZZ_CHECK(!req.method.empty() && !req.target.empty() && req.target.front() == '/');
    FUZZ_CHECK(Inside(req.path, req.target) && Inside(req.query, req.target));
    if (req.target.find('?') == std::string_view::npos) {
      FUZZ_CHECK(req.path == req.target && req.query.empty());
    } else {
      FUZZ_CHECK(req.path.size() + 1 + req.query.size() == req.target.size());
      FUZZ_CHECK(req.target[req.path.size()] == '?');
    }
    for (uint32_t i = 0; i < req.header_count; ++i) {
      const auto& h = req.headers[i];
      FUZZ_CHECK(!h.name.empty() && Inside(h.name, head) && Inside(h.value, head));
      FUZZ_CHECK(h.name.find_first_of(" \t:\r\n") == std::string_view::npos);
      FUZZ_CHECK(h.value.find_first_of("\r\n") == std::string_view::npos);
      FUZZ_CHECK(h.value.empty() || (h.value.front() != ' ' && h.value.back() != ' '));
      bool found = false;
      (void)req.Find(h.name, &found);
      FUZZ_CHECK(found);
    }
    // Only the head decides: the same head with nothing after it parses the same.
    static Request again;
    FUZZ_CHECK(ParseRequestHead(head, limits, &again) == ParseStatus::kComplete);
    FUZZ_CHECK(again.head_bytes == head_bytes && again.header_count == req.header_count);
    FUZZ_CHECK(again.content_length == req.content_length && again.keep_alive == req.keep_alive);
  }

  // The bytes arrive in two pieces: the first piece alone must not decide differently.
  if (!buf.empty()) {
    const size_t k = split_seed % buf.size();
    static Request part;
    const ParseStatus first = ParseRequestHead(buf.substr(0, k), limits, &part);
    switch (first) {
      case ParseStatus::kIncomplete:
        if (st == ParseStatus::kComplete) FUZZ_CHECK(k < head_bytes);
        break;
      case ParseStatus::kComplete:
        FUZZ_CHECK(st == ParseStatus::kComplete && part.head_bytes == head_bytes);
        break;
      case ParseStatus::kBadRequest:
      case ParseStatus::kNotImplemented:
      case ParseStatus::kHeadTooLarge:
        // A refusal is final: what arrives later cannot turn it into another answer.
        FUZZ_CHECK(st == first);
        break;
    }
  }
  return 0;
}
