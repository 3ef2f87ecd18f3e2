// RedisLink against real redis-server processes, driven by a real io::Loop: pipelining,
// deadlines, stopping once answered, refusals and reconnects, the idle probe of pub/sub links.
#include "cluster/redis_link.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "redis_harness.h"

namespace roomcast::cluster {
namespace {

using namespace testkit;  // NOLINT: the shared harness

TEST(RedisLink, PipelinedCommandsGetTheirRepliesInOrder) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start()) << "redis-server did not start (scripts/install-deps.sh)";
  Harness h;
  h.ports = {redis.Port()};
  std::vector<long long> got;
  std::string value;
  h.start = [&](Harness& hh) {
    const std::string_view set[] = {"SET", "bin", std::string_view("a\r\n\0b", 5)};
    hh.L(0).Command(set, hh.loop->NowMs() + 1000, nullptr);
    for (int i = 0; i < 1000; ++i) {
      const std::string_view incr[] = {"INCR", "k"};
      hh.L(0).Command(incr, hh.loop->NowMs() + 1000, [&](const Reply& r) {
        got.push_back(r.kind == Reply::kInteger ? r.integer : -1);
      });
    }
    const std::string_view get[] = {"GET", "bin"};
    hh.L(0).Command(get, hh.loop->NowMs() + 1000, [&](const Reply& r) {
      value = r.str;
      hh.done = true;
    });
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  ASSERT_EQ(got.size(), 1000u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<long long>(i + 1));
  EXPECT_EQ(value, std::string("a\r\n\0b", 5));
  EXPECT_EQ(h.L(0).Stats().commands, 1002u);
}

TEST(RedisLink, ADeadlineAnswersTimeoutAndTheLateReplyIsDropped) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  std::vector<std::string> got;
  uint64_t sent_at = 0;
  uint64_t timeout_after = 0;
  h.start = [&](Harness& hh) {
    sent_at = hh.loop->NowMs();
    const std::string_view block[] = {"BLPOP", "nothing", "0.6"};  // Redis answers after 600 ms
    hh.L(0).Command(block, sent_at + 200, [&](const Reply& r) {
      timeout_after = hh.loop->NowMs() - sent_at;
      got.push_back(r.IsTimeout() ? "timeout" : "reply");
    });
    const std::string_view ping[] = {"PING"};
    hh.L(0).Command(ping, sent_at + 2000, [&](const Reply& r) {
      got.push_back(r.str);
      hh.done = true;
    });
  };
  ASSERT_TRUE(RunLoop(&h));
  ASSERT_EQ(got, (std::vector<std::string>{"timeout", "PONG"}));
  EXPECT_GE(timeout_after, 200u);
  EXPECT_LT(timeout_after, 500u);
  EXPECT_EQ(h.L(0).Stats().timeouts, 1u);
  EXPECT_EQ(h.L(0).Stats().disconnects, 0u);
}

TEST(RedisLink, StopWhenAnsweredClosesAfterTheLastReplyOrAtItsDeadline) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port(), redis.Port()};
  std::vector<std::string> got(2);
  uint64_t sent_at = 0;
  uint64_t closed_after[2] = {0, 0};
  h.start = [&](Harness& hh) {
    sent_at = hh.loop->NowMs();
    // Link 0: answered after 200 ms, well before its 2 s deadline: the reply comes, then it
    // closes. Link 1: its reply would come after 2 s: closed at its 300 ms deadline.
    const std::string_view quick[] = {"BLPOP", "nothing", "0.2"};
    hh.L(0).Command(quick, sent_at + 5000, [&](const Reply& r) {
      got[0] = r.kind == Reply::kNil || r.kind == Reply::kArray ? "reply" : r.str;
    });
    hh.L(0).StopWhenAnswered(sent_at + 2000);
    const std::string_view slow[] = {"BLPOP", "nothing", "2"};
    hh.L(1).Command(slow, sent_at + 5000, [&](const Reply& r) {
      got[1] = r.kind == Reply::kNil || r.kind == Reply::kArray ? "reply" : "local error";
    });
    hh.L(1).StopWhenAnswered(sent_at + 300);
  };
  h.turn = [&](Harness& hh, uint64_t now) {
    for (int i = 0; i < 2; ++i) {
      if (closed_after[i] == 0 && !hh.L(static_cast<size_t>(i)).Ready()) {
        closed_after[i] = now - sent_at;
      }
    }
    hh.done = closed_after[0] != 0 && closed_after[1] != 0 && now - sent_at > 600;
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  EXPECT_EQ(got[0], "reply");
  EXPECT_GE(closed_after[0], 150u);
  EXPECT_LT(closed_after[0], 1000u);
  EXPECT_EQ(got[1], "local error");
  EXPECT_GE(closed_after[1], 300u);
  EXPECT_LT(closed_after[1], 1500u);
  EXPECT_EQ(h.L(0).Stats().connects, 1u);  // stopped for good: never reconnected
  EXPECT_EQ(h.L(1).Stats().connects, 1u);
}

TEST(RedisLink, RefusesWithinATurnWhileRedisIsDownAndReconnectsWhenItReturns) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  int phase = 0;
  uint64_t asked_at = 0;
  uint64_t refused_after = UINT64_MAX;
  std::string pending_answer;
  std::string after;
  h.start = [&](Harness& hh) {
    // A command in flight when Redis dies is answered "unavailable" as well.
    const std::string_view block[] = {"BLPOP", "nothing", "5"};
    hh.L(0).Command(block, hh.loop->NowMs() + 10000, [&](const Reply& r) {
      pending_answer = r.IsUnavailable() ? "unavailable" : r.str;
    });
    redis.Stop();  // SIGKILL: the connection drops
    phase = 1;
  };
  h.turn = [&](Harness& hh, uint64_t now) {
    if (phase == 1 && !hh.L(0).Ready()) {
      phase = 2;
      asked_at = now;
      const std::string_view ping[] = {"PING"};
      hh.L(0).Command(ping, now + 1000, [&](const Reply& r) {
        if (r.IsUnavailable()) refused_after = hh.loop->NowMs() - asked_at;
        phase = 3;
      });
    } else if (phase == 3) {
      phase = 4;
      EXPECT_TRUE(redis.Start());  // same port; the link retries with backoff
    } else if (phase == 4 && hh.L(0).Ready()) {
      phase = 5;
      const std::string_view ping[] = {"PING"};
      hh.L(0).Command(ping, now + 1000, [&](const Reply& r) {
        after = r.str;
        hh.done = true;
      });
    }
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  EXPECT_EQ(pending_answer, "unavailable");
  EXPECT_LT(refused_after, 100u);
  EXPECT_EQ(after, "PONG");
  EXPECT_EQ(h.L(0).Stats().connects, 2u);
  EXPECT_EQ(h.L(0).Stats().disconnects, 1u);
}

TEST(RedisLink, AQuietPubSubLinkIsProbedAndAnswersWithoutAReconnect) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  h.opts = LinkOptions{.pubsub = true, .probe_idle_ms = 100, .probe_wait_ms = 2000};
  int pushes = 0;
  h.start_hook = [&](Harness& hh) { hh.L(0).on_push = [&](const Reply&) { ++pushes; }; };
  h.start = [&](Harness& hh) {
    const std::string_view sub[] = {"SUBSCRIBE", "quiet"};
    hh.L(0).Command(sub, 0, nullptr);
  };
  h.turn = [&](Harness& hh, uint64_t) {
    if (hh.L(0).Stats().probes >= 4) hh.done = true;
  };
  ASSERT_TRUE(RunLoop(&h));
  EXPECT_FALSE(h.timed_out);
  EXPECT_EQ(h.L(0).Stats().probe_reconnects, 0u);
  EXPECT_EQ(h.L(0).Stats().connects, 1u);
  EXPECT_EQ(pushes, 1);  // the subscription's confirmation; the pongs stay in the link
}

TEST(RedisLink, AProbeWithoutAPongReconnects) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Harness h;
  h.ports = {redis.Port()};
  h.opts = LinkOptions{.pubsub = true, .probe_idle_ms = 100, .probe_wait_ms = 300};
  h.start = [&](Harness&) { redis.Signal(SIGSTOP); };  // the socket stays open, nothing answers
  h.turn = [&](Harness& hh, uint64_t) {
    if (hh.L(0).Stats().probe_reconnects >= 1) hh.done = true;
  };
  ASSERT_TRUE(RunLoop(&h));
  redis.Signal(SIGCONT);
  EXPECT_FALSE(h.timed_out);
  EXPECT_GE(h.L(0).Stats().probes, 1u);
  EXPECT_GE(h.L(0).Stats().disconnects, 1u);
}

}  // namespace
}  // namespace roomcast::cluster
