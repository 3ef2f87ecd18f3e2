// The provided-buffer ring (buffer_ring.h). Loop thread only.
#include "buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace roomcast::io {

int BufferRing::Setup(io_uring* ring, uint32_t count, uint32_t size, std::string* error) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) {
    *error = "recv buffer count must be a power of two up to 32768";
    return -EINVAL;
  }
  count_ = count;
  size_ = size;
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem =
      mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *error = std::string("mmap buffer ring: ") + strerror(errno);
    return -errno;
  }
  ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = 0;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    *error = std::string("register buffer ring: ") + strerror(-rc);
    return rc;
  }
  base_bytes_ = static_cast<size_t>(count) * size;
  mem = mmap(nullptr, base_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *error = std::string("mmap receive buffers: ") + strerror(errno);
    return -errno;
  }
  base_ = static_cast<uint8_t*>(mem);
  io_uring_buf_ring_init(ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(ring_, base_ + static_cast<size_t>(i) * size, size,
                          static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(ring_, static_cast<int>(count));
  return 0;
}

BufferRing::~BufferRing() {
  if (ring_) munmap(ring_, ring_bytes_);
  if (base_) munmap(base_, base_bytes_);
}

}  // namespace roomcast::io
