// ConnOutput: everything a session may do to its connection, and nothing else. A session writes
// bytes (a copy, or a reference on a buffer shared with other connections), asks for a close
// (graceful: what is queued goes out, then the write side is shut down; abort: dropped now), and
// reads how much is queued and the loop's clock. The shard implements it over io::Loop; the unit
// tests and the fuzz target implement it over strings. Shard thread only.
#pragma once

#include <cstdint>
#include <string>

#include "base/shared_buf.h"
#include "room/fanout.h"

namespace roomcast::session {

using ConnId = uint32_t;

enum class CloseMode : uint8_t {
  kGraceful,  // send what is queued, shut the write side down, then close
  kAbort,     // drop what is queued and close now
};

// room::ViewerQueues (QueuedBytes, Enqueue of a shared buffer, DropUnsent, CloseSlow) is the part
// the fan-out uses; the rest is for replies.
class ConnOutput : public room::ViewerQueues {
 public:
  // Queues a copy of bytes behind what is queued.
  virtual void EnqueueCopy(ConnId c, std::string bytes) = 0;
  virtual void Close(ConnId c, CloseMode mode) = 0;
  // The loop's clock (ms, monotonic; the same value for a whole loop turn).
  [[nodiscard]] virtual uint64_t NowMs() const = 0;

 protected:
  ~ConnOutput() = default;
};

}  // namespace roomcast::session
