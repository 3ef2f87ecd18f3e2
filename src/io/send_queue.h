// The records of the connections' send queues: each queue is a singly linked list of (shared
// buffer, offset) references hung on its Conn; the kernel holds the first inflight_refs of them
// while a send is in flight. Free records (and the vectored-send records) are kept for reuse up
// to a bound: a burst (one client's queue of a million small replies) must not pin its peak for
// the life of the process. No I/O here: the loop starts the sends. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conn_table.h"

namespace roomcast::io {

inline constexpr uint32_t kMaxFreeRefs = 4096;  // send-queue records kept for reuse
inline constexpr uint32_t kMaxFreeOps = 256;    // vectored-send records kept for reuse
inline constexpr size_t kCoalesceBytes = 8192;  // a reply buffer grows to this at most

class SendQueues {
 public:
  SendQueues() = default;
  ~SendQueues();
  SendQueues(const SendQueues&) = delete;
  SendQueues& operator=(const SendQueues&) = delete;

  // Appends bytes off..end of buf to c's queue, with a new reference on buf; returns the bytes.
  uint32_t Push(Conn* c, SharedBuf* buf, uint32_t off) {
    SendRef* r = NewRef();
    buf->Ref();
    r->buf = buf;
    r->off = off;
    r->next = nullptr;
    if (c->tail) {
      c->tail->next = r;
    } else {
      c->head = r;
    }
    c->tail = r;
    const uint32_t bytes = static_cast<uint32_t>(buf->bytes.size() - off);
    c->queued += bytes;
    return bytes;
  }
  // Appends bytes to the last queued buffer when it is private, untagged and not with the kernel
  // yet (the caller counts them in c->queued); false: push a buffer of their own.
  [[nodiscard]] bool AppendToTail(Conn* c, std::string_view bytes);
  // Frees the records of the first `bytes` sent bytes (a partial one keeps its rest).
  void ConsumeSent(Conn* c, uint32_t bytes);
  // Drops what the kernel does not hold yet: everything, or with tagged_only just the buffers
  // that carry tags (room batches), reporting their smallest tag_first and largest tag_last and
  // in *kept_unsent the unsent bytes of those kept. Returns bytes dropped.
  size_t Drop(Conn* c, uint64_t* first_tag, uint64_t* last_tag, bool tagged_only = false,
              uint32_t* kept_unsent = nullptr);

  SendOp* NewOp() {
    if (SendOp* op = free_ops_) {
      free_ops_ = op->next_free;
      --free_op_count_;
      return op;
    }
    return new SendOp;
  }
  void FreeOp(SendOp* op) {
    if (free_op_count_ >= kMaxFreeOps) {
      delete op;
      return;
    }
    op->next_free = free_ops_;
    free_ops_ = op;
    ++free_op_count_;
  }

 private:
  SendRef* NewRef() {
    if (SendRef* r = free_refs_) {
      free_refs_ = r->next;
      --free_ref_count_;
      return r;
    }
    return new SendRef;
  }
  void FreeRef(SendRef* r) {
    if (free_ref_count_ >= kMaxFreeRefs) {
      delete r;
      return;
    }
    r->buf = nullptr;
    r->next = free_refs_;
    free_refs_ = r;
    ++free_ref_count_;
  }

  SendOp* free_ops_ = nullptr;
  SendRef* free_refs_ = nullptr;
  uint32_t free_op_count_ = 0;
  uint32_t free_ref_count_ = 0;
};

}  // namespace roomcast::io
