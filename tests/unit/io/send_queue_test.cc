// The send-queue records without a ring: pushes take a reference and count their bytes, a partial
// send keeps the rest, a small reply grows a private untagged tail only while the kernel does not
// hold it, and dropping room batches keeps the replies in order and reports the dropped tags.
#include "io/send_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roomcast::io {
namespace {

struct Queue {
  SendQueues queues;
  Conn conn;
  ~Queue() { queues.Drop(&conn, nullptr, nullptr); }
  std::string Unsent() const {
    std::string out;
    for (const SendRef* r = conn.head; r; r = r->next) out += r->buf->bytes.substr(r->off);
    return out;
  }
};

SharedBuf* Buf(const std::string& s, uint64_t first = 0, uint64_t last = 0) {
  return SharedBuf::Make(s, first, last);
}

TEST(SendQueues, PushTakesAReferenceAndConsumeKeepsAPartialRest) {
  Queue q;
  SharedBuf* shared = Buf("hello ");
  EXPECT_EQ(q.queues.Push(&q.conn, shared, 0), 6u);
  EXPECT_EQ(shared->refs, 2u);
  SharedBuf* other = Buf("world");
  EXPECT_EQ(q.queues.Push(&q.conn, other, 2), 3u);  // from offset 2: "rld"
  other->Unref();
  EXPECT_EQ(q.conn.queued, 9u);
  EXPECT_EQ(q.Unsent(), "hello rld");
  q.queues.ConsumeSent(&q.conn, 7);  // "hello " and "r"
  EXPECT_EQ(q.Unsent(), "ld");
  EXPECT_EQ(q.conn.queued, 2u);
  EXPECT_EQ(shared->refs, 1u);  // the queue let go of the first buffer
  shared->Unref();
  q.queues.ConsumeSent(&q.conn, 2);
  EXPECT_EQ(q.conn.head, nullptr);
  EXPECT_EQ(q.conn.tail, nullptr);
  EXPECT_EQ(q.conn.queued, 0u);
}

TEST(SendQueues, AppendToTailOnlyToAPrivateUntaggedBufferTheKernelDoesNotHold) {
  Queue q;
  EXPECT_FALSE(q.queues.AppendToTail(&q.conn, "x"));  // empty queue
  SharedBuf* reply = Buf("pong");
  q.queues.Push(&q.conn, reply, 0);
  EXPECT_FALSE(q.queues.AppendToTail(&q.conn, "x"));  // still shared with its creator
  reply->Unref();
  EXPECT_TRUE(q.queues.AppendToTail(&q.conn, "pong"));
  EXPECT_EQ(q.Unsent(), "pongpong");
  EXPECT_FALSE(q.queues.AppendToTail(&q.conn, std::string(kCoalesceBytes, 'x')));  // too big
  q.conn.flags |= kSending;  // the kernel now holds the tail
  q.conn.inflight_refs = 1;
  EXPECT_FALSE(q.queues.AppendToTail(&q.conn, "x"));
  q.conn.flags = 0;
  q.conn.inflight_refs = 0;
  SharedBuf* batch = Buf("batch", 5, 9);
  q.queues.Push(&q.conn, batch, 0);
  batch->Unref();
  EXPECT_FALSE(q.queues.AppendToTail(&q.conn, "x"));  // a room batch is never grown
}

TEST(SendQueues, DropTaggedKeepsRepliesInOrderAndReportsTheDroppedTags) {
  Queue q;
  for (SharedBuf* b :
       {Buf("inflight", 1, 2), Buf("b1", 3, 4), Buf("ack"), Buf("b2", 5, 8), Buf("err")}) {
    q.queues.Push(&q.conn, b, 0);
    b->Unref();
  }
  q.conn.flags |= kSending;  // the first record is with the kernel: it stays
  q.conn.inflight_refs = 1;
  uint64_t first = 0, last = 0;
  uint32_t kept_unsent = 0;
  EXPECT_EQ(q.queues.Drop(&q.conn, &first, &last, /*tagged_only=*/true, &kept_unsent), 4u);
  EXPECT_EQ(first, 3u);
  EXPECT_EQ(last, 8u);
  EXPECT_EQ(kept_unsent, 6u);
  EXPECT_EQ(q.Unsent(), "inflightackerr");
  EXPECT_EQ(q.conn.queued, 14u);
  // Everything the kernel does not hold goes; the record in flight stays.
  EXPECT_EQ(q.queues.Drop(&q.conn, &first, &last), 6u);
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(q.Unsent(), "inflight");
  EXPECT_EQ(q.conn.head, q.conn.tail);
  q.conn.flags = 0;
  q.conn.inflight_refs = 0;
}

TEST(SendQueues, OpsAreReusedAndBounded) {
  SendQueues queues;
  SendOp* a = queues.NewOp();
  queues.FreeOp(a);
  EXPECT_EQ(queues.NewOp(), a);  // reused
  queues.FreeOp(a);
  std::vector<SendOp*> many;
  for (uint32_t i = 0; i < kMaxFreeOps + 10; ++i) many.push_back(queues.NewOp());
  for (SendOp* op : many) queues.FreeOp(op);  // past the bound they are deleted (ASan: no leak)
}

}  // namespace
}  // namespace roomcast::io
