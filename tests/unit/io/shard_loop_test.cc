// Drives a real io::Loop on loopback with a small handler: accept, receive, shared-buffer sends
// to several connections, graceful close after flush, and the table limit.
#include "io/shard_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace roomcast::io {
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

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Runs a Loop on its own thread (the ring must be created by the thread that uses it) and
// hands the handler a pointer to it. Started() waits for Init and reports its result.
class LoopThread {
 public:
  template <typename Handler>
  LoopThread(const LoopOptions& o, Handler* h) {
    thread_ = std::thread([this, o, h] {
      Loop loop(o, h);
      h->loop = &loop;
      int rc = loop.Init(&error_);
      if (rc == 0) loop_ = &loop;
      init_rc_.store(rc);
      if (rc != 0) return;
      loop.Run();
      stats_ = loop.Stats();
    });
  }
  ~LoopThread() {
    if (thread_.joinable()) Join();
  }
  bool Started() {
    while (init_rc_.load() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return init_rc_.load() == 0;
  }
  const std::string& Error() const { return error_; }
  void Stop() { loop_->RequestStop(); }  // any thread
  void Join() { thread_.join(); }
  const LoopStats& Stats() const { return stats_; }  // after Join

 private:
  std::atomic<int> init_rc_{1};
  std::string error_;
  Loop* loop_ = nullptr;
  LoopStats stats_;
  std::thread thread_;
};

// On "go\n" from any connection: queue one shared buffer on every connection and close them all
// gracefully. Counts accepts and closes.
class BroadcastHandler final : public LoopHandler {
 public:
  Loop* loop = nullptr;
  std::set<ConnId> conns;
  int closed = 0;
  SharedBuf* shared = nullptr;
  std::atomic<int> accepted{0};
  size_t expected = 0;
  bool stop_when_all_closed = false;

  void OnAccept(ConnId c) override {
    conns.insert(c);
    accepted.fetch_add(1);
  }
  void OnRecv(ConnId, std::span<const uint8_t> data) override {
    std::string s(reinterpret_cast<const char*>(data.data()), data.size());
    if (s.find("go") == std::string::npos) return;
    shared = SharedBuf::Make(std::string(100000, 'x') + "END", 1, 2);
    for (ConnId c : conns) loop->Enqueue(c, shared);
    for (ConnId c : conns) loop->Close(c, CloseMode::kGraceful);
    shared->Unref();  // the connections' references keep it alive until sent
    stop_when_all_closed = true;
  }
  void OnPeerGone(ConnId) override {}
  void OnSendDrained(ConnId) override {}
  void OnClosed(ConnId c) override {
    conns.erase(c);
    ++closed;
    if (stop_when_all_closed && conns.empty()) loop->Finish(0);
  }
  void OnTurn(uint64_t) override {}
  uint32_t BeforeSleep(uint64_t) override { return 50; }
  bool HasInbound() override { return false; }
  void OnStopRequested() override { loop->Finish(0); }
};

TEST(ShardLoop, SharedBufferReachesEveryConnectionThenGracefulClose) {
  const uint16_t port = FreePort();
  BroadcastHandler h;
  LoopOptions o;
  o.listen_host = "127.0.0.1";
  o.listen_port = port;
  o.max_conns = 64;
  o.recv_buf_count = 64;
  LoopThread t(o, &h);
  if (!t.Started()) GTEST_SKIP() << "io_uring loop unavailable here: " << t.Error();
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(Connect(port));
  for (int fd : fds) ASSERT_GE(fd, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (h.accepted.load() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(h.accepted.load(), 5);
  ASSERT_EQ(send(fds[0], "go\n", 3, 0), 3);
  for (int fd : fds) {
    std::string got = ReadAll(fd);  // until the server's FIN
    EXPECT_EQ(got.size(), 100003u);
    EXPECT_EQ(got.substr(got.size() - 3), "END");
    close(fd);  // our FIN lets the graceful close finish
  }
  t.Join();
  EXPECT_EQ(h.closed, 5);
}

// Accepting pauses while fewer than one listen backlog of table slots is free, so the multishot
// accept, which may still drain the backlog before the pause lands, never finds the table full
// (an accept into a full table fails with ENFILE and the kernel drops that connection). Waiting
// connections stay in the backlog and are accepted as soon as slots are freed.
class CountingHandler final : public LoopHandler {
 public:
  Loop* loop = nullptr;
  std::atomic<int> live{0};
  std::atomic<int> total{0};
  std::atomic<bool> close_some{false};
  std::vector<ConnId> conns;
  void OnAccept(ConnId c) override {
    conns.push_back(c);
    live.fetch_add(1);
    total.fetch_add(1);
  }
  void OnRecv(ConnId, std::span<const uint8_t>) override {}
  void OnPeerGone(ConnId) override {}
  void OnSendDrained(ConnId) override {}
  void OnClosed(ConnId) override { live.fetch_sub(1); }
  void OnTurn(uint64_t) override {
    if (close_some.exchange(false)) {
      for (int i = 0; i < 10 && !conns.empty(); ++i) {
        loop->Close(conns.back(), CloseMode::kAbort);
        conns.pop_back();
      }
    }
  }
  uint32_t BeforeSleep(uint64_t) override { return 10; }
  bool HasInbound() override { return false; }
  void OnStopRequested() override { loop->Finish(0); }
};

TEST(ShardLoop, StopsAcceptingBeforeTheTableIsFullAndResumes) {
  const uint16_t port = FreePort();
  CountingHandler h;
  LoopOptions o;
  o.listen_host = "127.0.0.1";
  o.listen_port = port;
  o.max_conns = 4;
  o.listen_backlog = 16;  // table = 4 + 64 + 16 = 84 slots; accepting pauses at 60 live
  o.recv_buf_count = 64;
  LoopThread t(o, &h);
  if (!t.Started()) GTEST_SKIP() << "io_uring loop unavailable here: " << t.Error();
  auto wait_for = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  // 60 connections fill the shard up to its pause point; 12 more wait in the listen backlog
  // (more would be refused by the kernel's SYN queue, and a blocking connect would stall).
  std::vector<int> fds;
  for (int i = 0; i < 72; ++i) {
    int fd = Connect(port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
    if (i < 60 && i % 8 == 7) wait_for([&] { return h.total.load() >= i + 1; });
  }
  wait_for([&] { return h.total.load() >= 60; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int paused_at = h.live.load();
  EXPECT_GE(paused_at, 60) << "accepting continues up to table - backlog - reserve";
  EXPECT_LE(paused_at, 72);
  h.close_some.store(true);
  wait_for([&] { return h.total.load() >= 72; });
  EXPECT_EQ(h.total.load(), 72) << "freed slots let the waiting connections in; none was lost";
  t.Stop();
  t.Join();
  EXPECT_EQ(t.Stats().accept_refused_full, 0u) << "no accept found the table full";
  for (int fd : fds) close(fd);
}

}  // namespace
}  // namespace roomcast::io

namespace roomcast::io {
namespace {

std::string Payload() {
  std::string s(70004, 'a');
  s[70000] = 't';
  s[70003] = 'l';
  return s;
}

// Writes a file through the loop (the durable log's group commit): write, then fdatasync once
// the write completed; OnFileDone reports each with its token.
class FileHandler final : public LoopHandler {
 public:
  Loop* loop = nullptr;
  int fd = -1;
  std::string data = Payload();
  std::vector<std::pair<uint32_t, int>> done;
  bool submitted = false;

  void OnAccept(ConnId) override {}
  void OnRecv(ConnId, std::span<const uint8_t>) override {}
  void OnPeerGone(ConnId) override {}
  void OnSendDrained(ConnId) override {}
  void OnClosed(ConnId) override {}
  void OnTurn(uint64_t) override {}
  uint32_t BeforeSleep(uint64_t) override {
    if (!submitted) {
      submitted = true;
      loop->SubmitFileWrite(fd, data.data(), static_cast<uint32_t>(data.size()), 16, 7);
    }
    return 50;
  }
  bool HasInbound() override { return false; }
  void OnStopRequested() override { loop->Finish(0); }
  void OnFileDone(uint32_t token, int res) override {
    done.emplace_back(token, res);
    if (token == 7) loop->SubmitFileSync(fd, 8);
    if (token == 8) loop->RequestStop();
  }
};

TEST(ShardLoop, FileWriteThenSyncCompleteWithTheirTokens) {
  char path[] = "/tmp/roomcast-io-file-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  FileHandler h;
  h.fd = fd;
  LoopOptions o;
  o.listen_host = "127.0.0.1";
  o.listen_port = FreePort();
  o.max_conns = 8;
  o.recv_buf_count = 16;
  {
    LoopThread t(o, &h);
    if (!t.Started()) {
      close(fd);
      unlink(path);
      GTEST_SKIP() << "io_uring loop unavailable here: " << t.Error();
    }
    t.Join();
  }
  ASSERT_EQ(h.done.size(), 2u);
  EXPECT_EQ(h.done[0], std::make_pair(7u, static_cast<int>(h.data.size())));
  EXPECT_EQ(h.done[1], std::make_pair(8u, 0));
  std::string back(h.data.size() + 16, '\0');
  ASSERT_EQ(pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(back.substr(0, 16), std::string(16, '\0')) << "written at the offset asked";
  EXPECT_EQ(back.substr(16), h.data);
  close(fd);
  unlink(path);
}

// Connects out (Connect): to a refused port first, then to a listening one; sends "hello" on the
// new connection and stops once the peer's "world" arrived.
class ConnectHandler final : public LoopHandler {
 public:
  Loop* loop = nullptr;
  uint16_t refused_port = 0;
  uint16_t good_port = 0;
  std::vector<std::pair<uint32_t, int>> connected;
  std::string received;
  bool started = false;

  void OnAccept(ConnId) override {}
  void OnRecv(ConnId, std::span<const uint8_t> d) override {
    received.append(reinterpret_cast<const char*>(d.data()), d.size());
    if (received == "world") loop->RequestStop();
  }
  void OnPeerGone(ConnId) override {}
  void OnSendDrained(ConnId) override {}
  void OnClosed(ConnId) override {}
  void OnTurn(uint64_t) override {}
  uint32_t BeforeSleep(uint64_t) override {
    if (!started) {
      started = true;
      if (loop->Connect("not-an-address", 1, 9, 1000) != -EINVAL) connected.emplace_back(9, 0);
      (void)loop->Connect("127.0.0.1", refused_port, 1, 1000);
    }
    return 50;
  }
  bool HasInbound() override { return false; }
  void OnStopRequested() override { loop->Finish(loop->NowMs() + 1000); }
  void OnConnected(uint32_t token, ConnId c, int res) override {
    connected.emplace_back(token, res);
    if (token == 1) (void)loop->Connect("127.0.0.1", good_port, 2, 1000);
    if (token == 2 && res == 0) loop->EnqueueCopy(c, "hello");
  }
};

TEST(ShardLoop, ConnectReportsARefusalThenCarriesBytesBothWays) {
  const uint16_t good = FreePort();
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(good);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  ConnectHandler h;
  h.refused_port = FreePort();
  h.good_port = good;
  LoopOptions o;
  o.listen_host = "127.0.0.1";
  o.listen_port = FreePort();
  o.max_conns = 8;
  o.recv_buf_count = 16;
  LoopThread t(o, &h);
  if (!t.Started()) {
    close(lfd);
    GTEST_SKIP() << "io_uring loop unavailable here: " << t.Error();
  }
  int peer = accept(lfd, nullptr, nullptr);
  ASSERT_GE(peer, 0);
  char buf[16] = {};
  ASSERT_EQ(recv(peer, buf, 5, MSG_WAITALL), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(send(peer, "world", 5, 0), 5);
  t.Join();
  close(peer);
  close(lfd);
  ASSERT_EQ(h.connected.size(), 2u);
  EXPECT_EQ(h.connected[0], std::make_pair(1u, -ECONNREFUSED));
  EXPECT_EQ(h.connected[1], std::make_pair(2u, 0));
  EXPECT_EQ(h.received, "world");
}

}  // namespace
}  // namespace roomcast::io
