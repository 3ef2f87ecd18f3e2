// roomcast-owner-cost: the owner's CPU per message with moderation on and off, measured in
// process (the whole added cost of moderation is at the room's owner: nothing per viewer). An
// OwnerService is driven by plain calls, as in its unit tests, with no log and an outbox that
// drops what it is given, on one thread: N publishes of B-byte texts (a stamp padded with 'x',
// as roomcast-load sends) into R rooms, alternating plain and moderated runs.
//   moderated: a rate limit every send passes through (1000000/60), unique-chat mode in every
//   room, and 1000 blocked terms + 10 regexes in every room's list and server-wide.
//
//   roomcast-owner-cost [--messages N] [--bytes B] [--rooms R] [--rounds K]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "owner/owner_service.h"
#include "term_rules.h"

namespace {

using namespace roomcast;  // NOLINT: a tool

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

class DropOutbox final : public owner::Outbox {
 public:
  void Send(int, mesh::Message&& msg) override {
    if (auto* a = std::get_if<mesh::AckReply>(&msg)) refused += a->refusal != chat::Refusal::kNone;
  }
  uint64_t refused = 0;
};

struct Options {
  size_t messages = 200'000, bytes = 100, rooms = 4, rounds = 5;
};

mesh::ModerateReq Act(std::string room, chat::ModAction a) {
  mesh::ModerateReq r;
  r.room = std::move(room);
  r.op.action = a;
  r.actor = "bench";
  r.by_admin_key = true;
  r.ts_ms = 1'700'000'000'000;
  return r;
}

// Nanoseconds per publish over the whole run.
double Run(const Options& o, bool moderated, uint64_t* refused) {
  owner::OwnerOptions opt;
  opt.shards = 1;
  opt.mod_policy.rate = moderated ? room::RateSpec{1000000, 60} : room::RateSpec{};
  DropOutbox out;
  owner::MemoryEventLog log(&out);
  std::atomic<uint64_t> c[7] = {};
  owner::OwnerService svc(0, opt, &log, &out, {&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]});
  if (moderated) {
    std::string error;
    auto set = chat::TermSet::Compile(bench::TermRules(), &error);
    for (size_t r = 0; r <= o.rooms; ++r) {
      auto t = Act(r == o.rooms ? std::string(chat::kGlobalRoom) : "load-" + std::to_string(r),
                   chat::ModAction::kTerms);
      t.op.rules = bench::TermRules();
      t.op.compiled = set;
      svc.OnModerate(0, t, 1);
      if (r == o.rooms) break;
      auto m = Act("load-" + std::to_string(r), chat::ModAction::kMode);
      m.op.modes.unique = true;
      svc.OnModerate(0, m, 1);
    }
  }
  std::vector<mesh::PublishReq> reqs(o.messages);
  for (size_t i = 0; i < o.messages; ++i) {
    mesh::PublishReq& p = reqs[i];
    p.room = "load-" + std::to_string(i % o.rooms);
    p.user = "pub-" + std::to_string(i % o.rooms);
    p.text = "t=" + std::to_string(1'000'000'000 + i) + " p=" + std::to_string(i % o.rooms) +
             " n=" + std::to_string(i) + " ";
    if (p.text.size() < o.bytes) p.text.append(o.bytes - p.text.size(), 'x');
    p.ts_ms = 1'700'000'000'000 + static_cast<int64_t>(i / 20);  // 20,000 messages a second
  }
  const uint64_t t0 = NowNs();
  for (mesh::PublishReq& p : reqs) svc.OnPublish(0, p, 1);
  const uint64_t ns = NowNs() - t0;
  *refused = out.refused;
  return static_cast<double>(ns) / static_cast<double>(o.messages);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--messages"))
      o.messages = v;
    else if (!std::strcmp(argv[i], "--bytes"))
      o.bytes = v;
    else if (!std::strcmp(argv[i], "--rooms"))
      o.rooms = v;
    else if (!std::strcmp(argv[i], "--rounds"))
      o.rounds = v;
  }
  if (argc % 2 == 0 || o.messages == 0 || o.rooms == 0 || o.rounds == 0) {
    std::fprintf(stderr,
                 "usage: roomcast-owner-cost [--messages N] [--bytes B] [--rooms R] "
                 "[--rounds K]\n");
    return 2;
  }
  SetLogLevel(LogLevel::kWarn);  // every act is an info line
  std::vector<double> plain, moderated;
  for (size_t k = 0; k < o.rounds; ++k) {
    for (bool mod : {k % 2 == 0, k % 2 != 0}) {
      uint64_t refused = 0;
      const double ns = Run(o, mod, &refused);
      (mod ? moderated : plain).push_back(ns);
      std::printf("round %zu %s: %.0f ns per message, %llu refused\n", k + 1,
                  mod ? "moderated" : "plain    ", ns, static_cast<unsigned long long>(refused));
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("median owner ns per message: plain %.0f, moderated %.0f, added %.0f\n",
              median(plain), median(moderated), median(moderated) - median(plain));
  return 0;
}
