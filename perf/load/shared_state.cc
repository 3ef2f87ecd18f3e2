// The shared mapping's layout: Control, then the worker slots, then the room cells.
#include "shared_state.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace roomcast::load {

namespace {
size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }
}  // namespace

SharedState::SharedState(uint32_t workers, uint32_t rooms) : workers_(workers), rooms_(rooms) {
  const size_t control_bytes = RoundUp(sizeof(Control), 64);
  const size_t slot_bytes = sizeof(WorkerSlot) * workers;
  const size_t cell_bytes = sizeof(RoomCell) * workers * static_cast<size_t>(rooms);
  bytes_ = control_bytes + slot_bytes + cell_bytes;
  base_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base_ == MAP_FAILED) {
    std::fprintf(stderr, "roomcast-load: mmap of %zu shared bytes: %s\n", bytes_,
                 std::strerror(errno));
    std::abort();
  }
  char* p = static_cast<char*>(base_);
  control_ = new (p) Control();
  slots_ = reinterpret_cast<WorkerSlot*>(p + control_bytes);
  for (uint32_t w = 0; w < workers; ++w) new (&slots_[w]) WorkerSlot();
  cells_ = reinterpret_cast<RoomCell*>(p + control_bytes + slot_bytes);
  for (size_t i = 0; i < static_cast<size_t>(workers) * rooms; ++i) new (&cells_[i]) RoomCell();
}

SharedState::~SharedState() {
  if (base_ && base_ != MAP_FAILED) munmap(base_, bytes_);
}

}  // namespace roomcast::load
