// The provided-buffer ring the multishot receives take their buffers from: `count` buffers of
// `size` bytes in one mapping, registered as buffer group 0. A completion names a buffer (bid);
// the loop returns it once its bytes were handed on, and publishes the returns once per turn.
// Loop thread only.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace roomcast::io {

class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();  // unmaps; after the ring was exited
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // count: a power of two up to 32768. Returns 0 or -errno and fills *error.
  [[nodiscard]] int Setup(io_uring* ring, uint32_t count, uint32_t size, std::string* error);

  [[nodiscard]] const uint8_t* Data(uint16_t bid) const {
    return base_ + static_cast<size_t>(bid) * size_;
  }
  // Gives buffer bid back to the kernel (seen once Publish runs).
  void Return(uint16_t bid) {
    io_uring_buf_ring_add(ring_, base_ + static_cast<size_t>(bid) * size_, size_, bid,
                          io_uring_buf_ring_mask(count_), static_cast<int>(to_return_));
    ++to_return_;
  }
  void Publish() {
    if (to_return_) io_uring_buf_ring_advance(ring_, static_cast<int>(to_return_));
    to_return_ = 0;
  }

 private:
  io_uring_buf_ring* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint8_t* base_ = nullptr;
  size_t base_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t size_ = 0;
  uint32_t to_return_ = 0;
};

}  // namespace roomcast::io
