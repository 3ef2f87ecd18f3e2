// GET /rooms/R/snapshot[?limit=N] (PROTOCOL.md, "Snapshot for mega rooms"): the room's last N
// messages, epoch, seq and online count as one cacheable JSON body with an ETag and
// "Cache-Control: public, max-age=1". Each shard keeps one entry per room and limit; an entry is
// built at most once per second (one HistoryReq with `latest` to the owner) and every request
// in that second, and every request that arrives while a build is on its way, is answered from
// it. If-None-Match with the current ETag -> 304.
// States of one entry:
//   absent --a request--> building (the request waits, input held)
//   building --more requests--> building (they wait too)
//   building --the owner's answer--> fresh (every waiter answered; built_ms = now)
//   fresh --a request within 1 s of built_ms--> fresh (answered from the body)
//   fresh --a request 1 s or more after built_ms--> building
//   fresh --the sweep, 2 s or more after built_ms and nobody waiting--> absent
// At most kMaxEntries entries; a request for a new entry when all are taken gets 503.
// Shard thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "context.h"

namespace roomcast::session {

class Snapshots {
 public:
  static constexpr size_t kMaxEntries = 4096;
  static constexpr uint64_t kFreshMs = 1000;
  static constexpr uint32_t kDefaultLimit = 50;

  explicit Snapshots(Context* ctx) : ctx_(*ctx) {}

  // A checked request: answers it now from a fresh entry or makes it wait for a build.
  void Request(ConnId c, AnswerForm a, std::string_view room, uint32_t limit,
               std::string_view if_none_match);
  // The owner's answer to a build: stores the body and answers every waiter still there.
  void OnReply(const mesh::HistoryReply& rep);
  // Once a second: drops entries nobody asked for within 2 s.
  void Sweep(uint64_t now_ms);
  [[nodiscard]] size_t Entries() const { return entries_.size(); }

  // The body of a snapshot (exposed for tests).
  [[nodiscard]] static std::string Body(const mesh::HistoryReply& rep);

 private:
  struct Waiter {
    ConnId conn;
    uint32_t gen;
    AnswerForm form;
    std::string if_none_match;
  };
  struct Entry {
    std::string body, etag;
    uint64_t built_ms = 0;
    bool building = false;
    std::vector<Waiter> waiters;
  };
  void Answer(ConnId c, AnswerForm a, const Entry& e, std::string_view if_none_match);

  Context& ctx_;
  // "<limit> <room>": one entry per room and limit.
  static std::string Key(std::string_view room, uint32_t limit);
  std::map<std::string, Entry> entries_;
};

}  // namespace roomcast::session
