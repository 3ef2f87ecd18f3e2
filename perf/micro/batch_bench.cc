// The per-room flush on a viewer shard: EncodeBatch turns the pending messages into one buffer of
// ready text frames; FanOutBatch does that once and queues the shared buffer on every viewer.
// The ViewerQueues here is a stand-in with no sockets: every viewer's queue is empty (its earlier
// sends completed), Enqueue takes and drops a reference and counts. So the figures are the
// batcher's own cost, the floor under the real send path.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/shared_buf.h"
#include "room/fanout.h"
#include "room/room_owner.h"
#include "room/room_replica.h"
#include "ws/ws_frame.h"

namespace roomcast::room {
namespace {

// n 100-byte texts sequenced by an OwnerRoom, as they reach a replica.
std::vector<room::SequencedMsg> SequencedMessages(size_t n) {
  room::OwnerRoom owner("lobby", "k3x9", 1000, 2);
  std::string text = "t=123456789012 p=0 n=0 ";
  text.resize(100, 'x');
  std::vector<room::SequencedMsg> msgs;
  msgs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string cid = "p0-" + std::to_string(i);
    msgs.push_back(owner.Sequence({"lobby", "alice", text, cid, 1718000000000}));
  }
  return msgs;
}

class CountingQueues final : public ViewerQueues {
 public:
  explicit CountingQueues(size_t viewers) : queued_(viewers, 0) {}
  uint32_t QueuedBytes(room::ViewerId v) override { return queued_[v]; }
  void Enqueue(room::ViewerId, SharedBuf* buf) override {
    buf->Ref();
    ++enqueued;
    bytes += buf->bytes.size();
    buf->Unref();  // "sent" at once: the creator's reference still holds the buffer
  }
  uint32_t DropUnsent(room::ViewerId, uint64_t* first_seq, uint64_t* last_seq) override {
    *first_seq = 0;
    *last_seq = 0;
    return 0;
  }
  void CloseSlow(room::ViewerId) override { ++closed; }

  uint64_t enqueued = 0;
  uint64_t bytes = 0;
  uint64_t closed = 0;

 private:
  std::vector<uint32_t> queued_;  // per viewer, read as a real queue's size would be
};

// range(0): messages in the batch; range(1): viewers of the room on this shard.
void BM_FanOutBatch(benchmark::State& state) {
  const size_t n_msgs = static_cast<size_t>(state.range(0));
  const size_t n_viewers = static_cast<size_t>(state.range(1));
  const std::vector<room::SequencedMsg> msgs = SequencedMessages(n_msgs);
  std::vector<room::ViewerId> viewers(n_viewers);
  for (size_t i = 0; i < n_viewers; ++i) viewers[i] = static_cast<room::ViewerId>(i);
  const Config defaults;
  CountingQueues queues(n_viewers);
  ws::FrameWriter writer;
  uint64_t delivered = 0;
  for (auto _ : state) {
    const FanoutResult r =
        FanOutBatch(writer, Framing::kWebSocket, "lobby", "e1", msgs, {}, viewers,
                    defaults.slow_policy, defaults.max_queue_bytes, queues);
    delivered += r.delivered;
    benchmark::DoNotOptimize(r);
  }
  if (delivered != n_viewers * state.iterations() || queues.enqueued != delivered) {
    state.SkipWithError("not every viewer got the batch");
  }
  // One item = one message reaching one viewer.
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n_msgs * n_viewers));
  // One enqueue = one viewer getting the shared buffer, whatever it holds.
  state.counters["enqueues_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations() * n_viewers), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FanOutBatch)
    ->ArgNames({"msgs", "viewers"})
    ->ArgsProduct({{1, 10, 100}, {1000, 10000}})
    ->Unit(benchmark::kMicrosecond);

void BM_EncodeBatch(benchmark::State& state) {
  const std::vector<room::SequencedMsg> msgs =
      SequencedMessages(static_cast<size_t>(state.range(0)));
  ws::FrameWriter writer;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out;  // a fresh buffer each time, as FanOutBatch makes one per flush
    EncodeBatch(writer, Framing::kWebSocket, msgs, &out, "e1");
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * msgs.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_EncodeBatch)->ArgName("msgs")->Arg(1)->Arg(10)->Arg(100);

}  // namespace
}  // namespace roomcast::room

BENCHMARK_MAIN();
