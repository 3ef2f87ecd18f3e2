// A byte buffer shared by many connections of ONE shard (a room's batch of ready frames, a shared
// long-poll response). Counted with a plain integer: only the owning shard's thread may touch it,
// so no atomic is needed. Every queued reference holds one count; the buffer is freed when the
// last send that uses it completes.
#pragma once

#include <cstdint>
#include <string>

namespace roomcast {

struct SharedBuf {
  std::string bytes;
  uint32_t refs = 1;       // the creator's reference
  uint64_t tag_first = 0;  // free for the creator, e.g. the first and last message seq inside
  uint64_t tag_last = 0;

  static SharedBuf* Make(std::string b, uint64_t first = 0, uint64_t last = 0) {
    auto* s = new SharedBuf;
    s->bytes = std::move(b);
    s->tag_first = first;
    s->tag_last = last;
    return s;
  }
  void Ref() { ++refs; }
  void Unref() {
    if (--refs == 0) delete this;
  }
};

}  // namespace roomcast
