// Building message JSON on the owner shard. OwnerRoom::Sequence assigns the seq, writes the msg
// object once and appends it to the room's history (capped at the default 1000, so in the steady
// state each call also drops the oldest message). json::AppendString is the escaping inside it.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "base/json_writer.h"
#include "room/room_owner.h"

namespace roomcast {
namespace {

constexpr size_t kHistory = 1000;  // Config::history's default

std::string Text100() {
  std::string text = "hello everyone, this is a chat message of exactly one hundred bytes ";
  text.resize(100, 'x');
  return text;
}

// Arg 0: the client gave no cid (the owner makes an id); arg 1: it gave one.
void BM_OwnerRoomSequence(benchmark::State& state) {
  room::OwnerRoom owner("lobby", "k3x9", kHistory, 2);
  const std::string text = Text100();
  const bool with_cid = state.range(0) != 0;
  room::PublishInput in{"lobby", "alice", text, with_cid ? "p0-123456" : "", 1718000000000};
  // Fill the history first so that every measured call is the steady state (push + pop).
  for (size_t i = 0; i < kHistory; ++i) (void)owner.Sequence(in);
  size_t json_bytes = 0;
  for (auto _ : state) {
    const room::SequencedMsg& m = owner.Sequence(in);
    benchmark::DoNotOptimize(m.json.data());
    json_bytes = m.json.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["json_bytes"] = static_cast<double>(json_bytes);
}
BENCHMARK(BM_OwnerRoomSequence)->ArgName("cid")->Arg(0)->Arg(1);

void BenchAppendString(benchmark::State& state, std::string_view s) {
  std::string out;
  out.reserve(2 * s.size() + 64);
  for (auto _ : state) {
    out.clear();
    json::AppendString(&out, s);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
  state.counters["out_bytes"] = static_cast<double>(out.size());
}

// 100 bytes with a quoted word, a backslash, a newline and a tab: six characters to escape.
void BM_JsonAppendString100Escapes(benchmark::State& state) {
  std::string text = "she said \"hi\" and left C:\\temp\nthen wrote\tmore; this line is padded ";
  text.resize(100, 'z');
  BenchAppendString(state, text);
}
BENCHMARK(BM_JsonAppendString100Escapes);

// Baseline: 100 bytes with nothing to escape.
void BM_JsonAppendString100Plain(benchmark::State& state) { BenchAppendString(state, Text100()); }
BENCHMARK(BM_JsonAppendString100Plain);

}  // namespace
}  // namespace roomcast
