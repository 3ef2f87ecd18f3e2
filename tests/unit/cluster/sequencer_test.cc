// Sequencer against real redis-server processes: the publish script (seq, epoch, stream,
// channel, cid de-duplication, late refusal), the moderation gate and the act script, and rooms
// spread over two instances.
#include "cluster/sequencer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/room_shards.h"
#include "redis_harness.h"

namespace roomcast::cluster {
namespace {

using namespace testkit;  // NOLINT: the shared harness

struct Published {
  PublishResult::Status status;
  uint64_t seq;
  std::string epoch;
};

TEST(Sequencer, SequencesStoresPublishesAndDeduplicates) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port(), redis.Port()};  // link 1 is a pub/sub link to the same server
  std::unique_ptr<Sequencer> seq;
  std::vector<Published> got;
  std::vector<std::string> channel;
  std::vector<StoredEvent> read;
  h.start_hook = [&](Harness& hh) {
    seq = std::make_unique<Sequencer>(std::vector<RedisLink*>{&hh.L(0)}, SequencerOptions{});
    seq->Attach();
    hh.links[1] = std::make_unique<RedisLink>(hh.loop, RedisAddress{"127.0.0.1", redis.Port()}, 1,
                                              LinkOptions{.pubsub = true});
    hh.L(1).on_push = [&](const Reply& r) {
      if (r.elements.size() == 3 && r.elements[0].str == "message") {
        channel.push_back(r.elements[1].str + " " + r.elements[2].str);
      }
    };
  };
  auto record = [&](const PublishResult& r) { got.push_back({r.status, r.seq, r.epoch}); };
  h.start = [&](Harness& hh) {
    const std::string chan = RoomChannel("r1");
    const std::string_view sub[] = {"SUBSCRIBE", chan};
    hh.L(1).Command(sub, 0, nullptr);
  };
  int phase = 0;
  h.turn = [&](Harness& hh, uint64_t) {
    if (phase == 0 && hh.L(1).Stats().replies == 1) {  // the subscription is confirmed
      phase = 1;
      seq->Publish("r1", "", "one", record);
      seq->Publish("r1", "c-7", "two", record);
      seq->Publish("r1", "c-7", "two again", record);
      seq->Publish("r2", "", "other room", record);
      seq->Publish("r1", "", "three", record);
      seq->Read("r1", 1, 10, [&](bool ok, std::vector<StoredEvent> evs) {
        EXPECT_TRUE(ok);
        read = std::move(evs);
      });
    }
    if (phase == 1 && channel.size() == 3 && !read.empty()) hh.done = true;
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  ASSERT_EQ(got.size(), 5u);
  const std::string epoch = got[0].epoch;
  EXPECT_EQ(epoch.size(), 16u);
  EXPECT_EQ(got[0].status, PublishResult::kSequenced);
  EXPECT_EQ(got[0].seq, 1u);
  EXPECT_EQ(got[1].seq, 2u);
  EXPECT_EQ(got[2].status, PublishResult::kDuplicate);
  EXPECT_EQ(got[2].seq, 2u);
  EXPECT_EQ(got[2].epoch, epoch);
  EXPECT_EQ(got[3].seq, 1u);  // its own room
  EXPECT_NE(got[3].epoch, epoch);
  EXPECT_EQ(got[4].seq, 3u);
  EXPECT_EQ(got[4].epoch, epoch);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].seq, 2u);
  EXPECT_EQ(read[0].payload, "two");
  EXPECT_EQ(read[1].seq, 3u);
  EXPECT_EQ(read[1].epoch, epoch);
  ASSERT_EQ(channel.size(), 3u);
  EXPECT_EQ(channel[0], "rc:{r1}:c 1:" + epoch + ":one");
  EXPECT_EQ(channel[2], "rc:{r1}:c 3:" + epoch + ":three");
}

TEST(Sequencer, APublishReachingRedisAfterItsDeadlineIsNotSequenced) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  std::unique_ptr<Sequencer> seq;
  std::vector<Published> got;
  std::vector<StoredEvent> read;
  bool read_done = false;
  h.start_hook = [&](Harness& hh) {
    SequencerOptions o;
    o.deadline_ms = 200;
    seq = std::make_unique<Sequencer>(std::vector<RedisLink*>{&hh.L(0)}, o);
    seq->Attach();
  };
  auto record = [&](const PublishResult& r) { got.push_back({r.status, r.seq, r.epoch}); };
  int phase = 0;
  uint64_t t0 = 0;
  h.start = [&](Harness& hh) {
    t0 = hh.loop->NowMs();
    const std::string_view block[] = {"BLPOP", "nothing", "0.5"};  // holds the connection
    hh.L(0).Command(block, t0 + 2000, nullptr);
    seq->Publish("late", "", "too late", record);  // reaches the script after ~500 ms
  };
  h.turn = [&](Harness& hh, uint64_t now) {
    if (phase == 0 && now > t0 + 800) {
      phase = 1;
      seq->Publish("late", "", "in time", record);
      seq->Read("late", 0, 10, [&](bool ok, std::vector<StoredEvent> evs) {
        EXPECT_TRUE(ok);
        read = std::move(evs);
        read_done = true;
        hh.done = true;
      });
    }
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, PublishResult::kUnavailable);  // answered at its 200 ms deadline
  EXPECT_EQ(got[1].status, PublishResult::kSequenced);
  EXPECT_EQ(got[1].seq, 1u);  // the late one took no seq
  ASSERT_TRUE(read_done);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].payload, "in time");
}

// The moderation gate of the publish script and the act script (docs/cluster.md, "Moderation
// across nodes"), against a real Redis: bans (timed, shadow, ended), the rate window, slow mode
// and who it spares, and the rules hash's changes and bounds.
TEST(Sequencer, TheGateRefusesBansRateAndSlowModeAndActsChangeTheRules) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  std::unique_ptr<Sequencer> seq;
  std::vector<PublishResult> got;
  h.start_hook = [&](Harness& hh) {
    seq = std::make_unique<Sequencer>(std::vector<RedisLink*>{&hh.L(0)}, SequencerOptions{});
    seq->Attach();
  };
  auto gate = [](std::string user, uint32_t rate_n, bool slow) {
    return Gate{"b:" + user, user, rate_n, 60000, slow};
  };
  h.start = [&](Harness& hh) {
    auto record = [&](const PublishResult& r) {
      got.push_back(r);
      if (got.size() == 16) hh.done = true;
    };
    const std::string ended = std::to_string(::time(nullptr) * 1000 - 1000) + " 0";
    const std::string timed = std::to_string(::time(nullptr) * 1000 + 30000) + " 0";
    seq->Act("g", RuleChange{"b:troll", "0 0"}, "", record);           // 0
    seq->Publish("g", "", "x", gate("troll", 0, true), record);        // 1 banned
    seq->Publish("g", "", "x", record);                                // 2 ungated
    seq->Publish("g", "", "a1", gate("alice", 2, true), record);       // 3
    seq->Publish("g", "", "a2", gate("alice", 2, true), record);       // 4
    seq->Publish("g", "", "a3", gate("alice", 2, true), record);       // 5 rate
    seq->Act("g", RuleChange{"m", "5 0 0 0"}, "", record);             // 6
    seq->Publish("g", "", "b1", gate("bob", 0, true), record);         // 7
    seq->Publish("g", "", "b2", gate("bob", 0, true), record);         // 8 slow
    seq->Publish("g", "", "b3", gate("bob", 0, false), record);        // 9 spared
    seq->Act("g", RuleChange{"b:nobody", "", true}, "", record);       // 10 no field
    seq->Act("g", RuleChange{"b:shade", "0 1"}, "", record);           // 11
    seq->Publish("g", "", "s", gate("shade", 0, true), record);        // 12 shadow
    seq->Act("g", RuleChange{"b:gone", ended, false, 3}, "", record);  // 13 full
    seq->Act("g", RuleChange{"b:tmp", timed}, "", record);             // 14
    seq->Publish("g", "", "t", gate("tmp", 0, false), record);         // 15 timed
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  ASSERT_EQ(got.size(), 16u);
  using S = PublishResult;
  EXPECT_EQ(got[0].status, S::kSequenced);
  EXPECT_EQ(got[0].seq, 0u);  // no event
  EXPECT_EQ(got[1].status, S::kRefused);
  EXPECT_EQ(got[1].error, "banned");
  EXPECT_EQ(got[1].retry_ms, 0u);           // permanent
  EXPECT_EQ(got[2].status, S::kSequenced);  // an admin's send: no gate
  EXPECT_EQ(got[3].status, S::kSequenced);
  EXPECT_EQ(got[4].status, S::kSequenced);
  EXPECT_EQ(got[5].status, S::kRefused);
  EXPECT_EQ(got[5].error, "rate_limited");
  EXPECT_GT(got[5].retry_ms, 50000u);
  EXPECT_LE(got[5].retry_ms, 60000u);
  EXPECT_EQ(got[7].status, S::kSequenced);
  EXPECT_EQ(got[8].error, "slow_mode");
  EXPECT_GT(got[8].retry_ms, 4000u);
  EXPECT_LE(got[8].retry_ms, 5000u);
  EXPECT_EQ(got[9].status, S::kSequenced);
  EXPECT_EQ(got[10].status, S::kShadow);  // an act: no such field
  EXPECT_EQ(got[12].status, S::kShadow);
  EXPECT_EQ(got[13].status, S::kRefused);  // troll, m, shade: 3 fields, a 4th refused
  EXPECT_EQ(got[15].status, S::kRefused);
  EXPECT_EQ(got[15].error, "banned");
  EXPECT_GT(got[15].retry_ms, 20000u);
  EXPECT_LE(got[15].retry_ms, 30000u);
}

TEST(Sequencer, RoomsSpreadOverTwoInstances) {
  RedisServer a;
  RedisServer b;
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  Harness h;
  h.ports = {a.Port(), b.Port()};
  std::unique_ptr<Sequencer> seq;
  int answered = 0;
  int sequenced = 0;
  h.start_hook = [&](Harness& hh) {
    seq = std::make_unique<Sequencer>(std::vector<RedisLink*>{&hh.L(0), &hh.L(1)},
                                      SequencerOptions{});
    seq->Attach();
  };
  h.start = [&](Harness& hh) {
    for (int i = 0; i < 100; ++i) {
      seq->Publish("room-" + std::to_string(i), "", "x", [&](const PublishResult& r) {
        sequenced += r.status == PublishResult::kSequenced && r.seq == 1;
        if (++answered == 100) hh.done = true;
      });
    }
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_EQ(sequenced, 100);
  // Each link carried its rooms' scripts (plus two SCRIPT LOADs: the publish and the act
  // scripts); both hold some.
  const uint64_t on_a = h.L(0).Stats().commands - 2;
  const uint64_t on_b = h.L(1).Stats().commands - 2;
  EXPECT_EQ(on_a + on_b, 100u);
  EXPECT_GT(on_a, 25u);
  EXPECT_GT(on_b, 25u);
  for (int i = 0; i < 100; ++i) {
    const std::string room = "room-" + std::to_string(i);
    EXPECT_EQ(seq->LinkOf(room), &h.L(InstanceOf(room, 2)));
  }
}

}  // namespace
}  // namespace roomcast::cluster
