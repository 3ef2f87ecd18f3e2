// roomcast-hll: HyperLogLog accuracy and cost at 10k, 100k and 1M distinct users (issue 12,
// docs/performance.md). For each size it adds N distinct user keys (as the owner does: HashItem
// of "u:<name>"), some of them twice, over several independent key sets (seeds), and prints the
// relative error of the estimate (mean and worst over the seeds), of the same users merged
// from two shards' sketches, and the nanoseconds per Add and the sketch's bytes.
//
//   roomcast-hll [--seeds S]   (default 5; 1..50)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "room/hyperloglog.h"

namespace {

using roomcast::room::HashItem;
using roomcast::room::HyperLogLog;

std::string Key(int seed, uint64_t i) {
  return "u:s" + std::to_string(seed) + "-user" + std::to_string(i);
}

struct Result {
  double err = 0, merged_err = 0, ns_per_add = 0;
  size_t bytes = 0;
};

Result RunOne(uint64_t n, int seed) {
  HyperLogLog all, shard[2];
  uint64_t adds = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t h = HashItem(Key(seed, i));
    all.Add(h);
    ++adds;
    if (i % 4 == 0) {  // a quarter of the users join twice (a reconnect): counted once
      all.Add(h);
      ++adds;
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i) shard[i % 3 == 0 ? 0 : 1].Add(HashItem(Key(seed, i)));
  shard[0].Merge(shard[1]);
  Result r;
  const double truth = static_cast<double>(n);
  r.err = std::fabs(static_cast<double>(all.Estimate()) - truth) / truth;
  r.merged_err = std::fabs(static_cast<double>(shard[0].Estimate()) - truth) / truth;
  // The time includes hashing the key string (as the viewer shard does) and the Add.
  r.ns_per_add = std::chrono::duration<double, std::nano>(t1 - t0).count() / adds;
  r.bytes = all.Bytes();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
      seeds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: roomcast-hll [--seeds S]\n");
      return 2;
    }
  }
  if (seeds < 1 || seeds > 50) {
    std::fprintf(stderr, "--seeds must be 1..50\n");
    return 2;
  }
  std::printf("%-10s %6s %12s %12s %14s %12s %10s\n", "distinct", "seeds", "mean_err_%",
              "worst_err_%", "merged_worst_%", "ns_per_add", "bytes");
  for (uint64_t n : {10'000ull, 100'000ull, 1'000'000ull}) {
    double sum = 0, worst = 0, merged_worst = 0, ns = 0;
    size_t bytes = 0;
    for (int s = 0; s < seeds; ++s) {
      const Result r = RunOne(n, s);
      sum += r.err;
      worst = std::max(worst, r.err);
      merged_worst = std::max(merged_worst, r.merged_err);
      ns += r.ns_per_add;
      bytes = r.bytes;
    }
    std::printf("%-10llu %6d %12.3f %12.3f %14.3f %12.1f %10zu\n",
                static_cast<unsigned long long>(n), seeds, 100 * sum / seeds, 100 * worst,
                100 * merged_worst, ns / seeds, bytes);
  }
  return 0;
}
