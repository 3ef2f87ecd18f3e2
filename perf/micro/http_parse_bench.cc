// Cost of ParseRequestHead on the two heads the server sees most: a browser's WebSocket upgrade
// (~400 bytes, 8 headers) and a small POST of a message. Reports bytes/s and heads/s.
#include <benchmark/benchmark.h>

#include <memory>
#include <string_view>

#include "http/http_parser.h"

namespace roomcast::http {
namespace {

constexpr std::string_view kUpgradeHead =
    "GET /ws?room=lobby&since=1200&history=50 HTTP/1.1\r\n"
    "Host: chat.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Origin: https://chat.example.com\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

constexpr std::string_view kPostHead =
    "POST /rooms/lobby/messages HTTP/1.1\r\n"
    "Host: chat.example.com\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 142\r\n"
    "\r\n";

void BenchParse(benchmark::State& state, std::string_view head, uint32_t expected_headers) {
  const ParseLimits limits;
  // Request holds kMaxHeadersHardCap headers (a few KB): one, reused, as a connection would.
  auto req = std::make_unique<Request>();
  for (auto _ : state) {
    const ParseStatus status = ParseRequestHead(head, limits, req.get());
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(req->header_count);
    benchmark::ClobberMemory();
  }
  if (ParseRequestHead(head, limits, req.get()) != ParseStatus::kComplete ||
      req->header_count != expected_headers || req->head_bytes != head.size()) {
    state.SkipWithError("the head did not parse as expected");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head.size()));
  state.counters["head_bytes"] = static_cast<double>(head.size());
}

void BM_ParseUpgradeHead(benchmark::State& state) { BenchParse(state, kUpgradeHead, 8); }
BENCHMARK(BM_ParseUpgradeHead);

void BM_ParsePostHead(benchmark::State& state) { BenchParse(state, kPostHead, 4); }
BENCHMARK(BM_ParsePostHead);

}  // namespace
}  // namespace roomcast::http
