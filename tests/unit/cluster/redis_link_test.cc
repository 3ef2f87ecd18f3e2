// RedisLink and Sequencer against real redis-server processes (started here on free loopback
// ports, ended by PID), driven by a real io::Loop: pipelining, deadlines, reconnects, the
// publish script (seq, epoch, stream, channel, cid de-duplication, late refusal) and rooms spread
// over two instances.
#include "cluster/redis_link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/fleet_counts.h"
#include "cluster/room_shards.h"
#include "cluster/sequencer.h"
#include "cluster/subscriber.h"

namespace roomcast::cluster {
namespace {

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool Accepts(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// One redis-server child on 127.0.0.1:port, no persistence.
class RedisServer {
 public:
  RedisServer() : port_(FreePort()) {}
  ~RedisServer() { Stop(); }
  bool Start() {
    const std::string port = std::to_string(port_);
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      if (Accepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  [[nodiscard]] uint16_t Port() const { return port_; }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

// A loop handler that owns links to the given servers and runs the test's steps on the loop
// thread: start (once every link is up), then turn (every turn) until done or 10 s passed.
class Harness final : public io::LoopHandler {
 public:
  io::Loop* loop = nullptr;
  std::vector<uint16_t> ports;
  LinkOptions opts;
  std::vector<std::unique_ptr<RedisLink>> links;
  std::function<void(Harness&)> start;
  std::function<void(Harness&, uint64_t)> turn;
  bool started = false;
  bool done = false;
  bool timed_out = false;
  uint64_t give_up_at = 0;

  RedisLink& L(size_t i) { return *links[i]; }
  void OnAccept(io::ConnId) override {}
  void OnRecv(io::ConnId c, std::span<const uint8_t> d) override {
    for (auto& l : links) {
      if (l->Owns(c)) l->OnRecv(d);
    }
  }
  void OnPeerGone(io::ConnId c) override {
    for (auto& l : links) {
      if (l->Owns(c)) l->OnPeerGone();
    }
  }
  void OnSendDrained(io::ConnId) override {}
  void OnClosed(io::ConnId c) override {
    for (auto& l : links) {
      if (l->Owns(c)) l->OnClosed();
    }
  }
  void OnConnected(uint32_t token, io::ConnId c, int res) override {
    links[token]->OnConnected(c, res);
  }
  void OnTurn(uint64_t) override {}
  uint32_t BeforeSleep(uint64_t now) override {
    if (links.empty()) {
      give_up_at = now + 10000;
      for (uint16_t p : ports) {
        const uint32_t token = static_cast<uint32_t>(links.size());
        links.push_back(
            std::make_unique<RedisLink>(loop, RedisAddress{"127.0.0.1", p}, token, opts));
      }
      if (start_hook) start_hook(*this);
      for (auto& l : links) l->Start();
    }
    bool all_up = true;
    for (auto& l : links) all_up = all_up && l->Ready();
    if (!started && all_up) {
      started = true;
      if (start) start(*this);
    }
    if (started && turn) turn(*this, now);
    uint32_t wait = 20;
    for (auto& l : links) wait = std::min(wait, l->OnTurn(now));
    if (now > give_up_at) timed_out = true;
    if ((done || timed_out) && !stopping) {
      stopping = true;
      loop->RequestStop();
    }
    return std::max<uint32_t>(wait, 1);
  }
  bool HasInbound() override { return false; }
  void OnStopRequested() override { loop->Finish(loop->NowMs() + 500); }
  std::function<void(Harness&)> start_hook;  // before the links start (attach a Sequencer)
  bool stopping = false;
};

// Runs h on a loop thread until it is done; false when io_uring is unavailable.
bool RunLoop(Harness* h) {
  std::string error;
  int rc = 1;
  std::thread t([&] {
    io::LoopOptions o;
    o.listen_host = "127.0.0.1";
    o.listen_port = FreePort();
    o.max_conns = 16;
    o.recv_buf_count = 64;
    io::Loop loop(o, h);
    h->loop = &loop;
    rc = loop.Init(&error);
    if (rc == 0) loop.Run();
  });
  t.join();
  return rc == 0;
}

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
