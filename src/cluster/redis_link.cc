#include "cluster/redis_link.h"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "base/log.h"

namespace roomcast::cluster {

RedisLink::RedisLink(io::Loop* loop, RedisAddress addr, uint32_t token, LinkOptions opts)
    : loop_(loop), addr_(std::move(addr)), token_(token), opts_(opts) {}

void RedisLink::Stop() {
  stopped_ = true;
  if (state_ == kUp) {
    state_ = kClosing;
    loop_->Close(conn_, io::CloseMode::kAbort);
  }
  FailAll("stopping");
}

void RedisLink::StopWhenAnswered(uint64_t deadline_ms) {
  if (state_ != kUp || pending_.empty()) return Stop();
  stopped_ = true;
  stop_by_ms_ = std::max<uint64_t>(deadline_ms, 1);
}

void RedisLink::Start() {
  if (state_ != kDown || stopped_) return;
  state_ = kConnecting;
  const int rc = loop_->Connect(addr_.host, addr_.port, token_, opts_.connect_timeout_ms);
  if (rc < 0) {
    // A bad address (refused at parse time, so this is a socket failure): try again later.
    state_ = kDown;
    ++stats_.connect_failures;
    retry_at_ = loop_->NowMs() + opts_.backoff_max_ms;
  }
}

void RedisLink::Command(std::span<const std::string_view> argv, uint64_t deadline_ms, Callback cb) {
  if (state_ != kUp || pending_.size() >= opts_.max_pending) {
    ++stats_.refused;
    if (cb) refused_.push_back(std::move(cb));
    return;
  }
  loop_->EnqueueCopy(conn_, FormatCommand(argv));
  ++stats_.commands;
  if (opts_.pubsub) return;  // replies come to on_push
  if (cb) next_deadline_ms_ = std::min(next_deadline_ms_, deadline_ms);
  pending_.push_back({std::move(cb), deadline_ms, loop_->NowMs()});
}

void RedisLink::OnConnected(io::ConnId c, int res) {
  if (state_ != kConnecting) return;
  if (res >= 0 && stopped_) {
    state_ = kClosing;
    conn_ = c;
    loop_->Close(c, io::CloseMode::kAbort);
    return;
  }
  if (res < 0) {
    ++stats_.connect_failures;
    state_ = kDown;
    backoff_ms_ = std::clamp(backoff_ms_ * 2, opts_.backoff_min_ms, opts_.backoff_max_ms);
    retry_at_ = loop_->NowMs() + backoff_ms_;
    return;
  }
  ++stats_.connects;
  conn_ = c;
  state_ = kUp;
  backoff_ms_ = 0;
  last_recv_ms_ = loop_->NowMs();
  probe_sent_ms_ = 0;
  reader_.Reset();
  RC_INFO(loop_->ShardId(), "redis %s: connected", addr_.ToString().c_str());
  if (on_ready) on_ready();
}

void RedisLink::OnRecv(std::span<const uint8_t> bytes) {
  if (state_ != kUp) return;
  last_recv_ms_ = loop_->NowMs();
  if (!reader_.Feed(bytes)) return Lost("the RESP reader refused the bytes");
  Reply r;
  while (state_ == kUp) {
    const RespReader::Result got = reader_.Next(&r);
    if (got == RespReader::kNone) return;
    if (got == RespReader::kProtocolError) return Lost("protocol error");
    ++stats_.replies;
    if (opts_.pubsub) {
      if (probe_sent_ms_ != 0 && IsPong(r)) {
        probe_sent_ms_ = 0;
        continue;
      }
      if (on_push) on_push(r);
      continue;
    }
    if (pending_.empty()) return Lost("a reply without a command");
    Callback cb = std::move(pending_.front().cb);
    pending_.pop_front();
    if (cb) cb(r);
    if (stop_by_ms_ != 0 && pending_.empty()) return Stop();
  }
}

void RedisLink::OnPeerGone() {
  if (state_ == kUp) Lost("connection closed by Redis");
}

void RedisLink::OnClosed() {
  if (state_ == kDown || state_ == kConnecting) return;
  state_ = kDown;
  backoff_ms_ = std::clamp(backoff_ms_ * 2, opts_.backoff_min_ms, opts_.backoff_max_ms);
  retry_at_ = loop_->NowMs() + backoff_ms_;
}

void RedisLink::Lost(std::string_view why) {
  RC_WARN(loop_->ShardId(), "redis %s: %.*s; reconnecting", addr_.ToString().c_str(),
          static_cast<int>(why.size()), why.data());
  ++stats_.disconnects;
  state_ = kClosing;
  loop_->Close(conn_, io::CloseMode::kAbort);
  FailAll(why);
}

void RedisLink::FailAll(std::string_view why) {
  std::deque<Waiting> failed;
  failed.swap(pending_);
  const Reply err = Reply::Unavailable(why);
  for (Waiting& p : failed) {
    if (p.cb) p.cb(err);
  }
}

uint32_t RedisLink::OnTurn(uint64_t now_ms) {
  if (!refused_.empty()) {
    std::vector<Callback> list;
    list.swap(refused_);
    const Reply err = Reply::Unavailable("no connection to " + addr_.ToString());
    for (Callback& cb : list) cb(err);
  }
  if (stop_by_ms_ != 0 && state_ == kUp) {
    if (now_ms >= stop_by_ms_) {
      Stop();
      return 1000;
    }
  }
  uint32_t wait = 1000;
  if (now_ms >= next_deadline_ms_) {
    // Something is due: answer every overdue command and find the next deadline. Scans happen
    // only when a deadline passed, not every turn.
    next_deadline_ms_ = UINT64_MAX;
    std::vector<Callback> due;  // called after the scan: a callback may queue a command
    for (Waiting& p : pending_) {
      if (!p.cb) continue;
      if (p.deadline_ms > now_ms) {
        next_deadline_ms_ = std::min(next_deadline_ms_, p.deadline_ms);
        continue;
      }
      ++stats_.timeouts;
      due.push_back(std::move(p.cb));
      p.cb = nullptr;
    }
    for (Callback& cb : due) cb(Reply::Timeout());
  }
  if (next_deadline_ms_ != UINT64_MAX) {
    wait = static_cast<uint32_t>(std::min<uint64_t>(wait, next_deadline_ms_ - now_ms));
  }
  if (stop_by_ms_ > now_ms)
    wait = static_cast<uint32_t>(std::min<uint64_t>(wait, stop_by_ms_ - now_ms));
  if (state_ == kUp && !pending_.empty() && now_ms - pending_.front().sent_ms > opts_.stall_ms) {
    Lost("no reply for " + std::to_string(opts_.stall_ms) + " ms");
  }
  wait = std::min(wait, Probe(now_ms));
  if (state_ == kDown) {
    if (now_ms >= retry_at_) {
      Start();
    } else {
      wait = std::min<uint64_t>(wait, retry_at_ - now_ms);
    }
  }
  return wait;
}

// A subscribed link answers PING with ["pong", ""], one without subscriptions with +PONG.
bool RedisLink::IsPong(const Reply& r) {
  if (r.kind == Reply::kStatus) return r.str == "PONG";
  return r.kind == Reply::kArray && !r.elements.empty() && r.elements[0].str == "pong";
}

uint32_t RedisLink::Probe(uint64_t now_ms) {
  if (!opts_.pubsub || opts_.probe_idle_ms == 0 || state_ != kUp) return 1000;
  const uint64_t wait_ms = std::min(opts_.probe_wait_ms, opts_.probe_idle_ms);
  if (probe_sent_ms_ != 0) {
    if (now_ms < probe_sent_ms_ + wait_ms) {
      return static_cast<uint32_t>(probe_sent_ms_ + wait_ms - now_ms);
    }
    ++stats_.probe_reconnects;
    probe_sent_ms_ = 0;
    Lost("no pong to an idle probe within " + std::to_string(wait_ms) + " ms");
    return 0;
  }
  if (now_ms < last_recv_ms_ + opts_.probe_idle_ms) {
    return static_cast<uint32_t>(last_recv_ms_ + opts_.probe_idle_ms - now_ms);
  }
  const std::string_view argv[] = {"PING"};
  loop_->EnqueueCopy(conn_, FormatCommand(argv));
  ++stats_.commands;
  ++stats_.probes;
  probe_sent_ms_ = std::max<uint64_t>(now_ms, 1);
  return static_cast<uint32_t>(wait_ms);
}

std::string ScriptSha1(std::string_view script) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), d);
  std::string hex(SHA_DIGEST_LENGTH * 2, '0');
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) {
    hex[2 * i] = kHex[d[i] >> 4];
    hex[2 * i + 1] = kHex[d[i] & 15];
  }
  return hex;
}

void LoadScriptOnReady(RedisLink* link, std::string_view script) {
  std::function<void()> before = link->on_ready;
  link->on_ready = [link, before, script] {
    if (before) before();
    const std::string_view argv[] = {"SCRIPT", "LOAD", script};
    link->Command(argv, UINT64_MAX, nullptr);
  };
}

}  // namespace roomcast::cluster
