// The message payload of --redis: what one node encodes, every node decodes to the same object
// the single node would have built at that seq.
#include "cluster/event_codec.h"

#include <gtest/gtest.h>

namespace roomcast::cluster {
namespace {

room::PublishInput Input(std::string_view cid) {
  room::PublishInput in{"lobby", "alice", "hi \"there\"\n", cid, 1700000000123, 5};
  in.name = "Alice";
  return in;
}

TEST(EventCodec, ClientIdRoundTripsToTheSameObject) {
  room::OwnerRoom r("lobby", "00ff", 10, 1);
  const room::PublishInput in = Input("c-1");
  std::string payload;
  ASSERT_TRUE(EncodeMessage(r, in, &payload));
  room::SequencedMsg m;
  ASSERT_TRUE(DecodeMessage(payload, 42, "00ff", &m));
  EXPECT_EQ(m.seq, 42u);
  EXPECT_EQ(m.json, r.RenderMessage(in, 42));
  EXPECT_EQ(m.ts_ms, 1700000000123);
  EXPECT_EQ(m.user_tag, room::UserTag("alice"));
}

TEST(EventCodec, ServerIdIsMadeFromRedisEpochAndSeq) {
  room::OwnerRoom mine("lobby", "aaaa", 10, 1);
  room::OwnerRoom redis_epoch("lobby", "bbbb", 10, 1);
  room::PublishInput in = Input("");
  in.prio = true;
  std::string payload;
  ASSERT_TRUE(EncodeMessage(mine, in, &payload));
  room::SequencedMsg m;
  ASSERT_TRUE(DecodeMessage(payload, 7, "bbbb", &m));
  EXPECT_EQ(m.json, redis_epoch.RenderMessage(in, 7));
  EXPECT_NE(m.json.find(R"("id":"s-bbbb-7")"), std::string::npos) << m.json;
  EXPECT_TRUE(m.Prio());
  // A cid another user took: a server id as well.
  in = Input("c-2");
  in.cid_taken = true;
  ASSERT_TRUE(EncodeMessage(mine, in, &payload));
  ASSERT_TRUE(DecodeMessage(payload, 8, "bbbb", &m));
  EXPECT_EQ(m.json, redis_epoch.RenderMessage(in, 8));
}

TEST(EventCodec, MalformedPayloadsAreRefused) {
  room::SequencedMsg m;
  for (std::string_view bad :
       {"", "x", "1 0 1 2 s", "2 0 1 2 s\n{\"seq\":\n,}", "1 0 1 2 q\n{\"seq\":\n,}",
        "1 0 1 2 s\n{\"seq\"\n,}", "1 0 1 2 s\n{\"seq\":\n}", "1 a 1 2 s\n{\"seq\":\n,}"}) {
    EXPECT_FALSE(DecodeMessage(bad, 1, "e", &m)) << bad;
  }
  EXPECT_TRUE(DecodeMessage("1 0 1 2 s\n{\"seq\":\n,\"x\":1}", 1, "e", &m));
}

}  // namespace
}  // namespace roomcast::cluster
