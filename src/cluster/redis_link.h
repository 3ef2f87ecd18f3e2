// One connection to one Redis instance, driven by the shard's io_uring loop: the socket is a
// loop connection (io::Loop::Connect), hiredis only reads RESP and formats commands.
//
// Commands are pipelined: each is written at once behind the previous ones and its callback is
// matched to replies in order. Every command has a deadline (loop clock, ms): a command without a
// reply by then is answered "ROOMCAST timeout" (its late reply is dropped). A link whose oldest
// command waits longer than stall_ms is taken for stalled and reconnected. While down, commands
// are answered "ROOMCAST unavailable" on the next turn, never from inside Command. Reconnects
// back off from backoff_min_ms, doubling to backoff_max_ms. Loop thread only.
//
// A pub/sub link (pubsub = true) has no callbacks: every reply goes to on_push. Its idle probe
// (probe_idle_ms > 0): after that long without a byte from Redis it sends a PING; no pong within
// probe_wait_ms (at most probe_idle_ms) takes the link for stalled and reconnects it (the
// reconnect resubscribes, and each confirmation repairs its room from the stream). A pong is
// the link's own business and never reaches on_push.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/redis_address.h"
#include "cluster/resp.h"
#include "io/shard_loop.h"

namespace roomcast::cluster {

using base::ParseRedisAddresses;
using base::RedisAddress;

struct LinkOptions {
  uint32_t connect_timeout_ms = 1000;
  uint32_t backoff_min_ms = 50;
  uint32_t backoff_max_ms = 1000;
  uint32_t stall_ms = 3000;
  uint32_t max_pending = 100000;  // commands awaiting replies; more are refused (unavailable)
  bool pubsub = false;
  uint32_t probe_idle_ms = 0;  // pub/sub links: PING after this much silence (0: never)
  uint32_t probe_wait_ms = 2000;
};

struct LinkStats {
  uint64_t connects = 0;  // connections made
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;  // connections lost (peer gone, protocol error, stall)
  uint64_t commands = 0;     // written to Redis
  uint64_t replies = 0;
  uint64_t timeouts = 0;          // answered "ROOMCAST timeout"
  uint64_t refused = 0;           // answered "ROOMCAST unavailable" without being sent
  uint64_t probes = 0;            // idle probes (PING) sent on a pub/sub link
  uint64_t probe_reconnects = 0;  // ...that got no pong in time: the link was reconnected
};

class RedisLink {
 public:
  using Callback = std::function<void(const Reply&)>;

  // token: what the link passes to io::Loop::Connect, so the loop's handler can route
  // OnConnected back here.
  RedisLink(io::Loop* loop, RedisAddress addr, uint32_t token, LinkOptions opts = {});
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void Start();
  // At drain: closes the connection, answers what waits "unavailable", never reconnects.
  void Stop();
  // At drain, after the last commands (a node's goodbye): never reconnects, and closes once every
  // command written has its reply, or at deadline_ms (then as Stop).
  void StopWhenAnswered(uint64_t deadline_ms);
  [[nodiscard]] bool Ready() const { return state_ == kUp; }
  // Writes argv now, behind every earlier command; cb gets its reply (or a local error).
  void Command(std::span<const std::string_view> argv, uint64_t deadline_ms, Callback cb);

  // Called after every (re)connect, before any queued command's reply: load scripts, resubscribe.
  std::function<void()> on_ready;
  // Pub/sub links: every reply (subscribe confirmations, messages).
  std::function<void(const Reply&)> on_push;

  // The loop handler's plumbing.
  [[nodiscard]] uint32_t Token() const { return token_; }
  [[nodiscard]] bool Owns(io::ConnId c) const {
    return state_ != kDown && state_ != kConnecting && conn_ == c;
  }
  void OnConnected(io::ConnId c, int res);
  void OnRecv(std::span<const uint8_t> bytes);
  void OnPeerGone();
  void OnClosed();
  // Deadlines, refusals, stalls and reconnects; returns how long the loop may sleep (ms).
  uint32_t OnTurn(uint64_t now_ms);

  [[nodiscard]] const LinkStats& Stats() const { return stats_; }
  [[nodiscard]] const RedisAddress& Address() const { return addr_; }
  [[nodiscard]] size_t PendingCount() const { return pending_.size(); }
  [[nodiscard]] uint64_t NowMs() const { return loop_->NowMs(); }

 private:
  enum State { kDown, kConnecting, kUp, kClosing };
  struct Waiting {
    Callback cb;  // empty once answered (timed out)
    uint64_t deadline_ms;
    uint64_t sent_ms;
  };
  void Lost(std::string_view why);
  void FailAll(std::string_view why);
  // The idle probe of a pub/sub link; returns how long the loop may sleep for it (ms).
  uint32_t Probe(uint64_t now_ms);
  [[nodiscard]] static bool IsPong(const Reply& r);

  io::Loop* loop_;
  RedisAddress addr_;
  uint32_t token_;
  LinkOptions opts_;
  State state_ = kDown;
  io::ConnId conn_ = 0;
  RespReader reader_;
  std::deque<Waiting> pending_;
  std::vector<Callback> refused_;           // answered "unavailable" on the next turn
  uint64_t next_deadline_ms_ = UINT64_MAX;  // the earliest deadline of an unanswered command
  uint64_t retry_at_ = 0;
  uint32_t backoff_ms_ = 0;
  uint64_t last_recv_ms_ = 0;   // loop clock of the last bytes from Redis
  uint64_t probe_sent_ms_ = 0;  // 0: no probe awaiting its pong
  bool stopped_ = false;
  uint64_t stop_by_ms_ = 0;  // StopWhenAnswered's deadline (0: not stopping so)
  LinkStats stats_;
};

// The SHA1 of a script, in hex: the name EVALSHA calls it by.
[[nodiscard]] std::string ScriptSha1(std::string_view script);
// Loads `script` (static text) on every (re)connect of `link`, after what its on_ready already
// does: the EVALSHAs that follow on the link find it.
void LoadScriptOnReady(RedisLink* link, std::string_view script);

}  // namespace roomcast::cluster
