// The test harness of the cluster unit tests: real redis-server processes (started on free
// loopback ports, ended by PID) and a real io::Loop whose handler owns RedisLinks to them and
// runs a test's steps on the loop thread.
#pragma once

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

#include "cluster/redis_link.h"

namespace roomcast::cluster::testkit {

inline uint16_t FreePort() {
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

inline bool Accepts(uint16_t port) {
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
inline bool RunLoop(Harness* h) {
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

}  // namespace roomcast::cluster::testkit
