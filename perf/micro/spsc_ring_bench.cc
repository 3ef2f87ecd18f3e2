// Throughput of SpscRing, the only thing that crosses between shards.
//
// BM_SpscRingTwoThreads: a producer (the benchmark thread) pushes kItemsPerIteration mesh-sized
// items while a consumer thread drains them with PopBatch, as a shard drains its inbound rings.
// A full ring is back-pressure in the server; here the producer simply retries, and the number of
// pushes that found the ring full is reported. Wall-clock time: two threads work at once.
// The two threads are pinned to two different CPUs (when the process may use two): left to the
// scheduler they sometimes share one core, and the figure then measures a cache-hot hand-over on
// one core, not a crossing between shards. A side that finds the ring full (producer) or empty
// (consumer) spins a little, then yields, so a core shared with another process still moves.
// BM_SpscRingSingleThread: push then pop on one thread; the cost of the ring without any
// cache-line transfer between cores, as a baseline.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "mesh/mesh.h"
#include "mesh/spsc_ring.h"

namespace roomcast {
namespace {

using MeshItem = mesh::Item;
static_assert(sizeof(MeshItem) == 24, "the benchmark means a mesh-sized item");

constexpr uint64_t kItemsPerIteration = 1 << 20;
constexpr size_t kPopBatch = 256;
constexpr int kSpinsBeforeYield = 64;

// Called after each failed push or pop; yields the core once the other side seems descheduled.
void Backoff(int* spins) {
  if (++*spins >= kSpinsBeforeYield) {
    *spins = 0;
    std::this_thread::yield();
  }
}

// The CPUs this process may run on, in order.
std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

bool PinThisThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

// Pins the calling thread to one CPU for its lifetime, then gives it back its former CPU set.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu) {
    CPU_ZERO(&saved_);
    saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) == 0;
    pinned_ = cpu >= 0 && saved_ok_ && PinThisThread(cpu);
  }
  ~ScopedPin() {
    if (pinned_) (void)pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
  }
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  bool Pinned() const { return pinned_; }

 private:
  cpu_set_t saved_;
  bool saved_ok_ = false;
  bool pinned_ = false;
};

// The consumer side, running on its own thread for the whole benchmark: drains the ring and
// checks every item arrives, in order.
class Consumer {
 public:
  // cpu < 0: not pinned.
  Consumer(SpscRing<MeshItem>* ring, int cpu)
      : ring_(ring), cpu_(cpu), thread_([this] { Run(); }) {}
  ~Consumer() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  uint64_t Popped() const { return popped_.load(std::memory_order_acquire); }
  bool InOrder() const { return in_order_.load(std::memory_order_acquire); }
  bool Pinned() const { return pinned_.load(std::memory_order_acquire); }

 private:
  void Run() {
    pinned_.store(cpu_ >= 0 && PinThisThread(cpu_), std::memory_order_release);
    uint64_t expected = 0;
    bool in_order = true;
    int spins = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      const size_t n = ring_->PopBatch(kPopBatch, [&](const MeshItem& item) {
        in_order &= (item.a == expected);
        ++expected;
      });
      if (n == 0) {
        Backoff(&spins);
        continue;
      }
      spins = 0;
      in_order_.store(in_order, std::memory_order_relaxed);
      popped_.store(expected, std::memory_order_release);
    }
  }

  SpscRing<MeshItem>* ring_;
  int cpu_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> pinned_{false};
  alignas(kCacheLine) std::atomic<uint64_t> popped_{0};
  std::atomic<bool> in_order_{true};
  std::thread thread_;
};

void BM_SpscRingTwoThreads(benchmark::State& state) {
  const std::vector<int> cpus = AllowedCpus();
  const bool two_cpus = cpus.size() >= 2;
  ScopedPin producer_pin(two_cpus ? cpus[0] : -1);
  SpscRing<MeshItem> ring(static_cast<size_t>(state.range(0)));
  Consumer consumer(&ring, two_cpus ? cpus[1] : -1);
  uint64_t next = 0;
  uint64_t ring_full = 0;
  int spins = 0;
  for (auto _ : state) {
    const uint64_t end = next + kItemsPerIteration;
    for (; next < end; ++next) {
      const MeshItem item{1, 0, next, nullptr};
      while (!ring.TryPush(item)) {
        ++ring_full;
        Backoff(&spins);
      }
    }
    // The iteration ends when the consumer has seen every item.
    while (consumer.Popped() != end) Backoff(&spins);
  }
  if (!consumer.InOrder()) state.SkipWithError("items arrived out of order");
  // 1 when producer and consumer each had a CPU of their own.
  state.counters["pinned"] = producer_pin.Pinned() && consumer.Pinned() ? 1 : 0;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItemsPerIteration));
  state.counters["ring_full_per_item"] =
      benchmark::Counter(static_cast<double>(ring_full) / static_cast<double>(next));
}
// 1024: a small ring that fills often; 16384: the default --mesh-ring.
BENCHMARK(BM_SpscRingTwoThreads)
    ->Arg(1024)
    ->Arg(16384)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_SpscRingSingleThread(benchmark::State& state) {
  SpscRing<MeshItem> ring(16384);
  uint64_t sum = 0;
  bool ok = true;
  for (auto _ : state) {
    for (uint64_t i = 0; i < kItemsPerIteration; ++i) {
      ok &= ring.TryPush(MeshItem{1, 0, i, nullptr});
      MeshItem out{};
      ok &= ring.TryPop(&out);
      sum += out.a;
    }
    benchmark::DoNotOptimize(sum);
  }
  if (!ok) state.SkipWithError("a push or a pop failed on an uncontended ring");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItemsPerIteration));
}
BENCHMARK(BM_SpscRingSingleThread)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace roomcast
