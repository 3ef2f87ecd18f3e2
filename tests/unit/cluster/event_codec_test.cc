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

// Moderation events: the object the single node's owner would have sequenced at that seq, and
// what the copy must do besides keeping it.
TEST(EventCodec, ModerationEventsRoundTripWithTheirEffect) {
  room::OwnerRoom r("lobby", "00ff", 10, 1);
  room::OwnerRoom single("lobby", "00ff", 10, 1);
  const std::string fields = R"(,"online":3,"modes":{"slow_secs":5})";
  std::string payload;
  ASSERT_TRUE(EncodeEvent(r.EventJson("state", fields, 0, 1700), 'e', 0, 1700, &payload));
  room::SequencedMsg m;
  EventEffect effect;
  ASSERT_TRUE(DecodeMessage(payload, 1, "00ff", &m, &effect));
  EXPECT_EQ(m.json, single.SequenceEvent("state", fields, 1700, 0, true).json);
  EXPECT_EQ(effect.kind, 'e');
  EXPECT_TRUE(m.Prio());
  EXPECT_FALSE(m.Retract());

  ASSERT_TRUE(EncodeEvent(r.RetractJson(1, 0, "spam \"x\"", 1800), 'r', 1, 1800, &payload));
  ASSERT_TRUE(DecodeMessage(payload, 2, "00ff", &m, &effect));
  EXPECT_EQ(m.json, single.RetractJson(1, 2, "spam \"x\"", 1800));
  EXPECT_EQ(effect.kind, 'r');
  EXPECT_EQ(effect.target, 1u);
  EXPECT_TRUE(m.Retract() && m.Prio());
  EXPECT_EQ(m.ts_ms, 1800);

  ASSERT_TRUE(EncodeEvent(r.EventJson("clear", {}, 0, 1900), 'c', 0, 1900, &payload));
  ASSERT_TRUE(DecodeMessage(payload, 3, "00ff", &m, &effect));
  EXPECT_EQ(m.json, R"({"type":"clear","room":"lobby","seq":3,"ts":1900})");
  EXPECT_EQ(effect.kind, 'c');

  // A message says so too.
  ASSERT_TRUE(EncodeMessage(r, Input("c-1"), &payload));
  ASSERT_TRUE(DecodeMessage(payload, 4, "00ff", &m, &effect));
  EXPECT_EQ(effect.kind, 'm');
  // No field where the seq goes, or an unknown kind: not encoded.
  EXPECT_FALSE(EncodeEvent(R"({"type":"state"})", 'e', 0, 1, &payload));
  EXPECT_FALSE(EncodeEvent(r.EventJson("state", {}, 0, 1), 'q', 0, 1, &payload));
}

TEST(EventCodec, AdoptedRetractHidesItsTargetAndClearHidesWhatCameBefore) {
  room::OwnerRoom r("lobby", "00ff", 10, 1);
  room::OwnerRoom single("lobby", "00ff", 10, 1);
  std::string payload;
  ASSERT_TRUE(EncodeMessage(single, Input("c-1"), &payload));
  room::SequencedMsg m;
  ASSERT_TRUE(DecodeMessage(payload, 1, "00ff", &m));
  r.Adopt(std::move(m));
  EXPECT_EQ(r.CheckRetract(1), room::OwnerRoom::RetractStatus::kOk);
  EventEffect effect;
  ASSERT_TRUE(EncodeEvent(r.RetractJson(1, 0, "x", 5), 'r', 1, 5, &payload));
  ASSERT_TRUE(DecodeMessage(payload, 2, "00ff", &m, &effect));
  r.Adopt(std::move(m), effect.target);
  EXPECT_EQ(r.CheckRetract(1), room::OwnerRoom::RetractStatus::kAlreadyRetracted);
  EXPECT_EQ(r.CheckRetract(2), room::OwnerRoom::RetractStatus::kNotAMessage);
  const room::OwnerRoom::SinceResult res = r.Since(0, 10, room::OwnerRoom::Cap::kOldest);
  ASSERT_EQ(res.msgs.size(), 1u);  // the retract event only
  EXPECT_EQ(res.msgs[0].seq, 2u);
}

TEST(EventCodec, MalformedPayloadsAreRefused) {
  room::SequencedMsg m;
  for (std::string_view bad :
       {"", "x", "1 0 1 2 s", "2 0 1 2 s\n{\"seq\":\n,}", "1 0 1 2 q\n{\"seq\":\n,}",
        "1 0 1 2 s\n{\"seq\"\n,}", "1 0 1 2 s\n{\"seq\":\n}", "1 a 1 2 s\n{\"seq\":\n,}",
        "2 3 1 2 r\n{\"at\"\n,}", "2 3 1 2 r\n{\"at\":\n}", "2 3 1 r\n{\"at\":\n,}"}) {
    EXPECT_FALSE(DecodeMessage(bad, 1, "e", &m)) << bad;
  }
  EXPECT_TRUE(DecodeMessage("1 0 1 2 s\n{\"seq\":\n,\"x\":1}", 1, "e", &m));
}

}  // namespace
}  // namespace roomcast::cluster
