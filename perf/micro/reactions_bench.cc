// The owner's cost of one reaction (owner::Pulse): a rate-limit bucket looked up or made, the
// emote counted in the room's window, and, once per window, the window's event built. One room,
// 10,000 reactors taking turns over 8 emotes, the clock moving 1 ms per 50 reactions (50,000
// reactions a second into one room). Nothing here is per viewer: the event goes to each shard
// with viewers once, and each shard encodes it once (Viewers::Broadcast).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "owner/pulse.h"

namespace roomcast {
namespace {

void BM_ReactOneRoom(benchmark::State& state) {
  owner::PulseOptions o;
  o.react_rate = state.range(0) ? room::RateSpec{10, 1} : room::RateSpec{};
  owner::Pulse p(o);
  std::vector<std::string> reactors;
  for (int i = 0; i < 10'000; ++i) reactors.push_back("user-" + std::to_string(i));
  const std::string emotes[] = {
      "\xF0\x9F\x91\x8D", ":pog:",       ":kekw:", "\xF0\x9F\x8E\x89", ":lul:", ":gg:",
      ":hype:",           "\xE2\x9D\xA4"};
  uint64_t n = 0, now = 1, events = 0, refused = 0;
  for (auto _ : state) {
    const auto r = p.React("stage", reactors[n % reactors.size()], emotes[n % 8], now);
    refused += r.refusal != chat::Refusal::kNone;
    if (++n % 50 == 0) ++now;
    if (now >= p.NextDueMs()) events += p.Due(now).size();
  }
  state.counters["events"] = static_cast<double>(events);
  state.counters["refused"] = static_cast<double>(refused);
}
BENCHMARK(BM_ReactOneRoom)->Arg(1)->Arg(0)->ArgName("rate_limit");

}  // namespace
}  // namespace roomcast
