#include "room/fanout.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace roomcast::room {
namespace {

struct FakeQueues final : ViewerQueues {
  std::map<room::ViewerId, uint32_t> queued;
  std::map<room::ViewerId, std::vector<SharedBuf*>> got;
  std::vector<room::ViewerId> closed;
  uint64_t drop_first = 0, drop_last = 0;
  std::map<room::ViewerId, uint32_t> undroppable;  // bytes DropUnsent keeps (acks, replies)

  uint32_t QueuedBytes(room::ViewerId v) override { return queued[v]; }
  void Enqueue(room::ViewerId v, SharedBuf* buf) override {
    buf->Ref();
    got[v].push_back(buf);
    queued[v] += static_cast<uint32_t>(buf->bytes.size());
  }
  uint32_t DropUnsent(room::ViewerId v, uint64_t* first, uint64_t* last) override {
    *first = drop_first;
    *last = drop_last;
    queued[v] = undroppable[v];
    return undroppable[v];
  }
  void CloseSlow(room::ViewerId v) override { closed.push_back(v); }
  ~FakeQueues() {
    for (auto& [v, bufs] : got) {
      for (SharedBuf* b : bufs) b->Unref();
    }
  }
};

std::string TextFrame(const std::string& payload) {
  std::string f;
  f += static_cast<char>(0x81);
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else {
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  }
  return f + payload;
}

std::vector<room::SequencedMsg> Msgs() {
  return {{7, R"({"type":"msg","seq":7})"},
          {8, R"({"type":"msg","seq":8})"},
          {9, std::string(200, 'x')}};
}

TEST(Batch, EncodesByteExactUnmaskedFrames) {
  ws::FrameWriter w;
  std::string out;
  auto msgs = Msgs();
  EncodeBatch(w, Framing::kWebSocket, msgs, &out, "");
  EXPECT_EQ(out, TextFrame(msgs[0].json) + TextFrame(msgs[1].json) + TextFrame(msgs[2].json));
}

// permessage-deflate viewers share one compressed twin, deflated once per message for all of
// them (never per viewer); the plain viewers share the plain batch beside it.
TEST(Batch, CompressedTwinOncePerBatchForEveryDeflateViewer) {
  ws::FrameWriter w;
  ws::SharedDeflater deflater(64);
  FakeQueues q;
  const std::vector<room::ViewerId> plain = {0, 1}, compressed = {2, 3, 4, 5, 6};
  auto msgs = Msgs();  // one message over 64 bytes (seq 9)
  FanoutResult r = FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, plain, SlowPolicy::kSkip,
                               1 << 20, q, {compressed, &deflater});
  EXPECT_EQ(r.delivered, 7u);
  EXPECT_TRUE(r.twin);
  EXPECT_EQ(deflater.Calls(), 1u);
  SharedBuf* base = q.got[0].at(0);
  SharedBuf* twin = q.got[2].at(0);
  EXPECT_NE(base, twin);
  EXPECT_EQ(q.got[1].at(0), base);
  for (room::ViewerId v : compressed) EXPECT_EQ(q.got[v].at(0), twin);
  EXPECT_EQ(twin->tag_first, 7u);
  EXPECT_EQ(twin->tag_last, 9u);
  EXPECT_LT(twin->bytes.size(), base->bytes.size());
  EXPECT_EQ(static_cast<uint8_t>(twin->bytes[0]), 0x81u);  // small frames stay plain
  // Nothing worth compressing: the compressed viewers share the plain batch itself.
  FakeQueues q2;
  std::vector<room::SequencedMsg> small(msgs.begin(), msgs.begin() + 2);
  r = FanOutBatch(w, Framing::kWebSocket, "r1", "", small, {}, plain, SlowPolicy::kSkip, 1 << 20,
                  q2, {compressed, &deflater});
  EXPECT_FALSE(r.twin);
  EXPECT_EQ(q2.got[6].at(0), q2.got[0].at(0));
  // Only compressed viewers: the batch is still built (the twin is made from it).
  FakeQueues q3;
  r = FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, {}, SlowPolicy::kSkip, 1 << 20, q3,
                  {compressed, &deflater});
  EXPECT_EQ(r.delivered, 5u);
  EXPECT_EQ(deflater.Calls(), 2u);
}

TEST(Batch, OneSharedBufferForEveryViewer) {
  ws::FrameWriter w;
  FakeQueues q;
  std::vector<room::ViewerId> viewers;
  for (room::ViewerId v = 0; v < 1000; ++v) viewers.push_back(v);
  auto msgs = Msgs();
  FanoutResult r = FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, viewers,
                               SlowPolicy::kSkip, 1 << 20, q);
  EXPECT_EQ(r.delivered, 1000u);
  EXPECT_EQ(r.skipped, 0u);
  SharedBuf* first = q.got[0].at(0);
  EXPECT_EQ(first->tag_first, 7u);
  EXPECT_EQ(first->tag_last, 9u);
  for (room::ViewerId v : viewers) {
    ASSERT_EQ(q.got[v].size(), 1u);
    EXPECT_EQ(q.got[v][0], first) << "no copy per viewer";
  }
  EXPECT_EQ(first->refs, 1000u) << "one reference per viewer, the creator's released";
  EXPECT_EQ(r.bytes, first->bytes.size());
}

TEST(Batch, SlowViewerSkipsAheadWithGap) {
  ws::FrameWriter w;
  FakeQueues q;
  q.queued[1] = 5000;  // over the bound
  q.drop_first = 3;
  q.drop_last = 6;
  std::vector<room::ViewerId> viewers = {0, 1, 2};
  auto msgs = Msgs();
  FanoutResult r =
      FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, viewers, SlowPolicy::kSkip, 4096, q);
  EXPECT_EQ(r.delivered, 2u);
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(q.got[1].size(), 1u);
  EXPECT_EQ(q.got[1][0]->bytes, TextFrame(R"({"type":"gap","room":"r1","from":3,"to":9})"));
  EXPECT_EQ(q.got[1][0]->tag_first, 3u);
  EXPECT_EQ(q.got[1][0]->tag_last, 9u);
  EXPECT_EQ(q.got[0][0], q.got[2][0]);
}

TEST(Batch, GapStartsAtTheBatchWhenNothingTaggedWasDropped) {
  ws::FrameWriter w;
  FakeQueues q;
  q.queued[0] = 5000;
  std::vector<room::ViewerId> viewers = {0};
  auto msgs = Msgs();
  FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, viewers, SlowPolicy::kSkip, 4096, q);
  EXPECT_EQ(q.got[0][0]->bytes, TextFrame(R"({"type":"gap","room":"r1","from":7,"to":9})"));
}

TEST(Batch, SlowViewerClosedUnderClosePolicy) {
  ws::FrameWriter w;
  FakeQueues q;
  q.queued[1] = 5000;
  std::vector<room::ViewerId> viewers = {0, 1};
  auto msgs = Msgs();
  FanoutResult r =
      FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, viewers, SlowPolicy::kClose, 4096, q);
  EXPECT_EQ(r.closed, 1u);
  EXPECT_EQ(q.closed, std::vector<room::ViewerId>{1});
  EXPECT_TRUE(q.got[1].empty());
}

TEST(Batch, NothingToDoWithoutMessagesOrViewers) {
  ws::FrameWriter w;
  FakeQueues q;
  std::vector<room::ViewerId> none;
  auto msgs = Msgs();
  EXPECT_EQ(FanOutBatch(w, Framing::kWebSocket, "r", "", msgs, {}, none, SlowPolicy::kSkip, 1, q)
                .delivered,
            0u);
  std::vector<room::SequencedMsg> empty;
  std::vector<room::ViewerId> one = {1};
  EXPECT_EQ(FanOutBatch(w, Framing::kWebSocket, "r", "", empty, {}, one, SlowPolicy::kSkip, 1, q)
                .delivered,
            0u);
  EXPECT_TRUE(q.got.empty());
}

TEST(Batch, SseEventsCarryTheSeqAndEpochAsIdByteExact) {
  ws::FrameWriter w;
  std::string out;
  std::vector<room::SequencedMsg> msgs = {{7, R"({"type":"msg","seq":7})"},
                                          {8, R"({"type":"msg","seq":8})"}};
  EncodeBatch(w, Framing::kSse, msgs, &out, "5f0c9a1e");
  EXPECT_EQ(out,
            "id: 7:5f0c9a1e\nevent: msg\ndata: {\"type\":\"msg\",\"seq\":7}\n\n"
            "id: 8:5f0c9a1e\nevent: msg\ndata: {\"type\":\"msg\",\"seq\":8}\n\n");
}

TEST(Batch, SseSlowViewerGetsAGapEventWhoseIdIsItsEnd) {
  ws::FrameWriter w;
  FakeQueues q;
  auto msgs = Msgs();
  std::vector<room::ViewerId> viewers = {1};
  q.queued[1] = 4096;  // full
  q.drop_first = 3;
  q.drop_last = 6;
  FanoutResult r =
      FanOutBatch(w, Framing::kSse, "r1", "e1", msgs, {}, viewers, SlowPolicy::kSkip, 4096, q);
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(q.got[1].size(), 1u);
  EXPECT_EQ(
      q.got[1][0]->bytes,
      "id: 9:e1\nevent: gap\ndata: {\"type\":\"gap\",\"room\":\"r1\",\"from\":3,\"to\":9}\n\n");
}

TEST(Batch, PriorityEventsGoFirstAndSseDropsTheirIdWhenMovedAhead) {
  ws::FrameWriter w;
  std::vector<room::SequencedMsg> msgs = {{7, "m7"},
                                          {8, "p8", 0, room::kEvPrio},
                                          {9, "m9"},
                                          {10, "r10", 0, room::kEvPrio | room::kEvRetract}};
  std::string ws_out;
  EncodeBatch(w, Framing::kWebSocket, msgs, &ws_out, "");
  EXPECT_EQ(ws_out, TextFrame("p8") + TextFrame("r10") + TextFrame("m7") + TextFrame("m9"));
  std::string sse_out;
  EncodeBatch(w, Framing::kSse, msgs, &sse_out, "");
  EXPECT_EQ(sse_out,
            "event: msg\ndata: p8\n\n"
            "event: retract\ndata: r10\n\n"
            "id: 7\nevent: msg\ndata: m7\n\n"
            "id: 9\nevent: msg\ndata: m9\n\n");
  // A priority event ahead of nothing older keeps its id.
  std::vector<room::SequencedMsg> lead = {{5, "p5", 0, room::kEvPrio}, {6, "m6"}};
  std::string lead_out;
  EncodeBatch(w, Framing::kSse, lead, &lead_out, "");
  EXPECT_EQ(lead_out, "id: 5\nevent: msg\ndata: p5\n\nid: 6\nevent: msg\ndata: m6\n\n");
}

TEST(Batch, SseCatchUpPagePriorityEventsAboveTheLastSeqCarryNoId) {
  // A catch-up page covering seqs up to 4 carries priority event 9 (ahead of ordinary 5..8 still
  // to come) even when the page holds no ordinary event at all: 9 must not become the stream's
  // last id.
  ws::FrameWriter w;
  std::vector<room::SequencedMsg> page = {{3, "p3", 0, room::kEvPrio}, {9, "p9", 0, room::kEvPrio}};
  std::string out;
  EncodeBatch(w, Framing::kSse, page, &out, "", 0, /*id_upto=*/4);
  EXPECT_EQ(out, "id: 3\nevent: msg\ndata: p3\n\nevent: msg\ndata: p9\n\n");
}

TEST(Batch, SlowViewerStillGetsThePriorityEventsItsGapCovers) {
  ws::FrameWriter w;
  FakeQueues q;
  q.queued[1] = 5000;  // over the bound
  q.drop_first = 3;    // it had 3..6 queued, 4 of them a gift
  q.drop_last = 6;
  std::vector<room::SequencedMsg> msgs = {{7, "m7"}, {8, "p8", 0, room::kEvPrio}, {9, "m9"}};
  std::vector<room::SequencedMsg> recent = {
      {2, "p2", 0, room::kEvPrio}, {4, "p4", 0, room::kEvPrio}, {8, "p8", 0, room::kEvPrio}};
  std::vector<room::ViewerId> viewers = {0, 1};
  FanoutResult r = FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, recent, viewers,
                               SlowPolicy::kSkip, 4096, q);
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(q.got[1].size(), 1u);
  EXPECT_EQ(q.got[1][0]->bytes, TextFrame(R"({"type":"gap","room":"r1","from":3,"to":9})") +
                                    TextFrame("p4") + TextFrame("p8"))
      << "p2 was before the gap: the viewer had it";
  EXPECT_EQ(q.got[1][0]->tag_first, 3u) << "a later skip over this buffer widens the range";
  std::vector<room::ViewerId> sse_viewers = {1};
  FakeQueues q2;
  q2.queued[1] = 5000;
  FanOutBatch(w, Framing::kSse, "r1", "", msgs, recent, sse_viewers, SlowPolicy::kSkip, 4096, q2);
  EXPECT_EQ(q2.got[1][0]->bytes,
            "id: 9\nevent: gap\ndata: {\"type\":\"gap\",\"room\":\"r1\",\"from\":7,\"to\":9}\n\n"
            "event: msg\ndata: p8\n\n");
}

TEST(Batch, AnEmptyQueueTakesABatchLargerThanTheBound) {
  ws::FrameWriter w;
  FakeQueues q;
  std::vector<room::SequencedMsg> msgs = {{1, std::string(3000, 'a')}, {2, std::string(3000, 'b')}};
  std::vector<room::ViewerId> viewers = {0};
  FanoutResult r =
      FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, viewers, SlowPolicy::kSkip, 4096, q);
  EXPECT_EQ(r.delivered, 1u) << "the bound limits a backlog, not one batch";
  EXPECT_EQ(r.skipped, 0u);
}

TEST(Batch, ASlowViewerWhoseAcksAloneFillTheQueueIsClosed) {
  ws::FrameWriter w;
  FakeQueues q;
  q.queued[1] = 9000;
  q.undroppable[1] = 5000;  // over the 4096 bound even after its batches are dropped
  q.queued[2] = 9000;
  q.undroppable[2] = 100;  // fine after the drop: skips ahead
  std::vector<room::ViewerId> viewers = {1, 2};
  auto msgs = Msgs();
  FanoutResult r =
      FanOutBatch(w, Framing::kWebSocket, "r1", "", msgs, {}, viewers, SlowPolicy::kSkip, 4096, q);
  EXPECT_EQ(r.closed, 1u);
  EXPECT_EQ(q.closed, std::vector<room::ViewerId>{1});
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(q.got[2].size(), 1u);
}

}  // namespace
}  // namespace roomcast::room
