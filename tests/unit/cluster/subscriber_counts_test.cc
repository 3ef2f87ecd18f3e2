// Subscriber and FleetCounts against a real redis-server: batched subscriptions and
// resubscription after a loss, and the fleet's counts of a room from two nodes' reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/fleet_counts.h"
#include "cluster/subscriber.h"
#include "redis_harness.h"

namespace roomcast::cluster {
namespace {

using namespace testkit;  // NOLINT: the shared harness

TEST(Subscriber, BatchesSubscriptionsDeliversWantedRoomsAndResubscribesAfterALoss) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port(), redis.Port()};  // 0: commands, 1: pub/sub
  std::unique_ptr<Sequencer> seq;
  std::unique_ptr<Subscriber> sub;
  std::vector<std::string> events;
  int resubscribed = 0;
  h.start_hook = [&](Harness& hh) {
    hh.links[1] = std::make_unique<RedisLink>(hh.loop, RedisAddress{"127.0.0.1", redis.Port()}, 1,
                                              LinkOptions{.pubsub = true});
    seq = std::make_unique<Sequencer>(std::vector<RedisLink*>{&hh.L(0)}, SequencerOptions{});
    seq->Attach();
    sub = std::make_unique<Subscriber>(std::vector<RedisLink*>{&hh.L(1)});
    sub->Attach();
    sub->on_event = [&](std::string_view room, const StoredEvent& ev) {
      events.push_back(std::string(room) + "#" + std::to_string(ev.seq) + ":" + ev.payload);
    };
    sub->on_resubscribed = [&](size_t) { ++resubscribed; };
  };
  auto ignore = [](const PublishResult&) {};
  int phase = 0;
  h.start = [&](Harness&) {
    sub->Want("a");
    sub->Want("a");
    sub->Want("b");
    sub->Flush();
  };
  h.turn = [&](Harness& hh, uint64_t) {
    const uint64_t replies = hh.L(1).Stats().replies;
    if (phase == 0 && replies == 2) {  // both channels confirmed (one batched SUBSCRIBE)
      phase = 1;
      EXPECT_EQ(hh.L(1).Stats().commands, 1u);
      seq->Publish("a", "", "a1", ignore);
      seq->Publish("c", "", "nobody watches c", ignore);
      seq->Publish("b", "", "b1", ignore);
    } else if (phase == 1 && replies == 4) {  // + the two messages
      phase = 2;
      sub->Drop("b");
      sub->Drop("a");  // a is still wanted once
      sub->Flush();
    } else if (phase == 2 && replies == 5) {  // + the unsubscribe of b
      phase = 3;
      seq->Publish("b", "", "b2 after the unsubscribe", ignore);
      seq->Publish("a", "", "a2", ignore);
    } else if (phase == 3 && events.size() == 3) {
      phase = 4;
      redis.Stop();
    } else if (phase == 4 && !hh.L(1).Ready()) {
      phase = 5;
      EXPECT_TRUE(redis.Start());
    } else if (phase == 5 && resubscribed == 1 && hh.L(0).Ready() &&
               replies >= 7) {  // + a2, + the new subscription
      phase = 6;
      seq->Publish("a", "", "a after the restart", ignore);
    } else if (phase == 6 && events.size() == 4) {
      hh.done = true;
    }
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out) << "phase " << phase;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0], "a#1:a1");
  EXPECT_EQ(events[1], "b#1:b1");
  EXPECT_EQ(events[2], "a#2:a2");
  EXPECT_EQ(events[3], "a#1:a after the restart");  // a new Redis: a new epoch, seq from 1
  EXPECT_EQ(resubscribed, 1);
  EXPECT_EQ(sub->Rooms(), 1u);
}

// Two nodes' reports of one room through FleetCounts: the other's count, the union of distinct
// viewers, a count leaving at 0 and a report that stopped expiring.
TEST(FleetCounts, SumsTheOtherNodesAndCountsDistinctViewers) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  std::unique_ptr<FleetCounts> n1, n2, quick;
  std::vector<FleetCount> got;
  h.start_hook = [&](Harness& hh) {
    n1 = std::make_unique<FleetCounts>(std::vector<RedisLink*>{&hh.L(0)}, "n1", 3000);
    n2 = std::make_unique<FleetCounts>(std::vector<RedisLink*>{&hh.L(0)}, "n2", 3000);
    quick = std::make_unique<FleetCounts>(std::vector<RedisLink*>{&hh.L(0)}, "n3", 200);
    n1->Attach();
  };
  auto keep = [&](bool ok, const FleetCount& c) {
    EXPECT_TRUE(ok);
    got.push_back(c);
  };
  const uint64_t v1[] = {1, 2}, v2[] = {2, 3, 4};
  int phase = 0;
  uint64_t at = 0;
  h.start = [&](Harness& hh) {
    const uint64_t d = hh.loop->NowMs() + 1000;
    n1->Report("r", "e1", 2, v1, d, keep);     // others 0, 2 distinct
    n2->Report("r", "e1", 3, v2, d, keep);     // others 2, 4 distinct
    quick->Report("r", "e1", 5, {}, d, keep);  // others 5
    n1->Report("r", "e1", 0, {}, d, keep);     // left: others 3 + 5
    at = hh.loop->NowMs();
  };
  h.turn = [&](Harness& hh, uint64_t now) {
    if (phase == 0 && got.size() == 4 && now > at + 400) {  // n3's report expired
      phase = 1;
      n1->Report("r", "e1", 1, {}, now + 1000, keep);
    }
    if (phase == 1 && got.size() == 5) hh.done = true;
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].others_online, 0u);
  EXPECT_EQ(got[0].unique_5m, 2u);
  EXPECT_EQ(got[1].others_online, 2u);
  EXPECT_EQ(got[1].unique_5m, 4u);
  EXPECT_EQ(got[1].unique_total, 4u);
  EXPECT_EQ(got[2].others_online, 5u);
  EXPECT_EQ(got[3].others_online, 8u);
  EXPECT_EQ(got[4].others_online, 3u);  // n3's report expired, n2's not
  EXPECT_EQ(got[4].unique_5m, 4u);
}

}  // namespace
}  // namespace roomcast::cluster
