// Bounded lock-free single-producer/single-consumer ring.
//
// Exactly one thread may call the producer side (TryPush, Size-from-producer) and exactly one other
// thread the consumer side (TryPop, PopBatch). A full ring is back-pressure: TryPush returns false
// and the producer decides what to do (keep the item in a local overflow list and count it); it
// never blocks or spins. Indices are free-running 64-bit counters on separate cache lines, each
// side caching the other's index so that the common case touches no shared line.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace roomcast {

inline constexpr size_t kCacheLine = 64;

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "ring items are copied as bytes");

 public:
  // capacity is rounded up to a power of two (at least 2).
  explicit SpscRing(size_t capacity) {
    size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    // Default-initialised, not zeroed: a large ring's pages are not touched (and cost no memory)
    // until items actually pass through them.
    slots_ = std::unique_ptr<T[]>(new T[cap]);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t Capacity() const { return mask_ + 1; }

  // Producer only.
  [[nodiscard]] bool TryPush(const T& item) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only.
  [[nodiscard]] bool TryPop(T* out) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    *out = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer only: pops up to max items into fn(const T&), publishing the new head once.
  template <typename Fn>
  size_t PopBatch(size_t max, Fn&& fn) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) tail_cache_ = tail_.load(std::memory_order_acquire);
    size_t n = static_cast<size_t>(tail_cache_ - head);
    if (n > max) n = max;
    for (size_t i = 0; i < n; ++i) fn(slots_[(head + i) & mask_]);
    if (n) head_.store(head + n, std::memory_order_release);
    return n;
  }

  // Either side: a snapshot, exact only when the other side is quiet.
  [[nodiscard]] bool EmptyApprox() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};  // written by the consumer
  uint64_t tail_cache_ = 0;                            // consumer's copy of tail_
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // written by the producer
  uint64_t head_cache_ = 0;                            // producer's copy of head_
  alignas(kCacheLine) size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
};

}  // namespace roomcast
