// permessage-deflate's two per-message costs on a shard (src/ws/deflate.h): compressing one
// server message for every compressed viewer of a batch (SharedDeflater::Compress, once per
// message per shard), and inflating one compressed client message (SharedInflater::Inflate, once
// per message a compressing client sends: Python `websockets` and browsers compress every
// message they send once the extension is negotiated). Chat-like JSON of about 100 and 1,000
// bytes; the compressed client message is made as a client makes it (an empty window each time).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "ws/deflate.h"

namespace roomcast::ws {
namespace {

std::string ChatJson(size_t bytes) {
  static const char* kWords[] = {"gg",  "what",   "a",   "goal",    "no",
                                 "way", "that",   "was", "insane",  "lol",
                                 "the", "keeper", "ref", "offside", "replay"};
  std::string text;
  for (size_t i = 0; text.size() + 40 < bytes; ++i) {
    text += kWords[(i * 7 + i / 3) % 15];
    text += ' ';
  }
  return R"({"op":"send","text":")" + text + R"(","cid":"c-123456"})";
}

void BM_DeflateServerMessage(benchmark::State& state) {
  const std::string msg = ChatJson(static_cast<size_t>(state.range(0)));
  SharedDeflater deflater(0);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(deflater.Compress(msg, &out));
  }
  state.counters["in_bytes"] = static_cast<double>(msg.size());
  state.counters["out_bytes"] = static_cast<double>(out.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DeflateServerMessage)->Arg(100)->Arg(1000)->ArgName("bytes");

void BM_InflateClientMessage(benchmark::State& state) {
  const std::string msg = ChatJson(static_cast<size_t>(state.range(0)));
  SharedDeflater deflater(0);
  std::string compressed;
  if (!deflater.Compress(msg, &compressed)) {
    state.SkipWithError("the message did not compress");
    return;
  }
  SharedInflater inflater;
  std::string out;
  for (auto _ : state) {
    if (inflater.Inflate(compressed, 65536, &out) != InflateStatus::kOk) {
      state.SkipWithError("inflate failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  if (out != msg) state.SkipWithError("inflated bytes differ");
  state.counters["in_bytes"] = static_cast<double>(compressed.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_InflateClientMessage)->Arg(100)->Arg(1000)->ArgName("bytes");

}  // namespace
}  // namespace roomcast::ws
