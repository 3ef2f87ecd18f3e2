// The fakes the owner tests share: an Outbox that records, an EventLog that holds everything
// until Flush (as the durable one does until its write completes), and request builders.
#pragma once

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "owner/owner_service.h"

namespace roomcast::owner::fakes {

struct Sent {
  int shard;
  mesh::Message msg;
};

class RecordingOutbox final : public Outbox {
 public:
  void Send(int shard, mesh::Message&& msg) override { sent.push_back({shard, std::move(msg)}); }
  std::vector<Sent> sent;
  template <typename T>
  T& At(size_t i) {
    return std::get<T>(sent.at(i).msg);
  }
};

// A log that holds everything until Flush, as the durable one does until its write completes.
class HoldingLog final : public EventLog {
 public:
  explicit HoldingLog(Outbox* out) : out_(out) {}
  bool Writable() const override { return writable; }
  bool Deferred() const override { return true; }
  void Append(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
              std::string_view, uint64_t, int64_t) override {
    appended.push_back(m.seq);
    users.emplace_back(user);
    visible.emplace_back(r, m.seq);
  }
  void AppendControl(room::OwnerRoom*, std::string_view actor, std::string_view json,
                     int64_t) override {
    controls.emplace_back(std::string(actor) + " " + std::string(json));
  }
  void SendAfterWritten(int to, mesh::Message&& msg) override {
    held.emplace_back(to, std::move(msg));
  }
  void Flush() {
    for (auto& [r, seq] : visible) r->MakeVisible(seq);
    for (auto& [to, msg] : held) out_->Send(to, std::move(msg));
    visible.clear();
    held.clear();
  }
  bool writable = true;
  std::vector<uint64_t> appended;
  std::vector<std::string> users;
  std::vector<std::string> controls;  // "actor json" of each control record
  std::vector<std::pair<room::OwnerRoom*, uint64_t>> visible;
  std::vector<std::pair<int, mesh::Message>> held;

 private:
  Outbox* out_;
};

struct Fixture {
  explicit Fixture(int shards = 2, size_t max_rooms = 100) {
    opt.shards = shards;
    opt.max_rooms = max_rooms;
    opt.mod_policy.rate = room::RateSpec{};  // no rate limit unless a test sets one
  }
  OwnerOptions opt;
  std::atomic<uint64_t> sequenced{0}, prio{0}, dedup{0}, retractions{0}, refused{0}, reactions{0},
      reactions_refused{0};
  OwnerCounters Counters() {
    return {&sequenced, &prio, &dedup, &retractions, &refused, &reactions, &reactions_refused};
  }
};

inline mesh::PublishReq Pub(std::string room, std::string user, std::string text,
                            std::string cid = "") {
  mesh::PublishReq r;
  r.room = std::move(room);
  r.user = std::move(user);
  r.text = std::move(text);
  r.cid = std::move(cid);
  r.ts_ms = 1000;
  r.to = {7, 3};
  return r;
}

inline mesh::JoinReq Join(std::string room, uint64_t since = mesh::kNoSince, uint32_t history = 0) {
  mesh::JoinReq j;
  j.room = std::move(room);
  j.to = {9, 1};
  j.since = since;
  j.history = history;
  return j;
}

}  // namespace roomcast::owner::fakes
