// OwnerService's moderation with --redis (shared_moderator.cc), driven by plain calls against a
// RoomSequencing that records what would go to Redis and is answered by the test: each act
// becomes one rules change or numbered event, is answered only once Redis answered (refused
// `unavailable` when it could not be reached), and the rules Redis tells are this node's copy.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "auth/roles.h"
#include "owner/owner_service.h"
#include "owner_fakes.h"

namespace roomcast::owner {
namespace {

using namespace fakes;  // NOLINT: the shared fakes
using chat::ModAction;
using chat::Refusal;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr auto kMod = auth::Bit(auth::Role::kModerator);

// What the owner asked of Redis; the test answers through cb.
struct Asked {
  std::string room, field, value, json, dedup;
  bool remove = false;
  char kind = 0;
  uint64_t target = 0;
  SharedCallback cb;
};

class RecordingSharing final : public RoomSequencing {
 public:
  void Submit(int, room::OwnerRoom*, const room::PublishInput& in, mesh::AckReply&&,
              SubmitDone done) override {
    submitted.emplace_back(in.text);
    submit_done.push_back(std::move(done));
  }
  bool HoldJoin(int, mesh::JoinReq&) override { return false; }
  bool HoldHistory(int, mesh::HistoryReq&) override { return false; }
  bool HoldModerate(int, mesh::ModerateReq&) override { return false; }
  bool HoldRetract(int, mesh::RetractReq&) override { return false; }
  bool HoldPublish(int, mesh::PublishReq&) override { return false; }
  void ViewersChanged(std::string_view, uint64_t) override {}
  void PublishEvent(std::string_view room, const std::string& json, char kind, uint64_t target,
                    int64_t, const std::string& dedup, SharedCallback cb) override {
    asked.push_back(Asked{std::string(room), {}, {}, json, dedup, false, kind, target, cb});
  }
  void ChangeRule(std::string_view room, const std::string& field, const std::string& value,
                  bool remove, const std::string& event_json, int64_t, SharedCallback cb) override {
    asked.push_back(Asked{std::string(room), field, value, event_json, {}, remove, 0, 0, cb});
  }
  std::vector<Asked> asked;
  std::vector<std::string> submitted;
  std::vector<SubmitDone> submit_done;
};

mesh::ModerateReq Act(ModAction a, std::string user = "") {
  mesh::ModerateReq r;
  r.room = "r";
  r.op.action = a;
  r.op.user = std::move(user);
  r.actor = "mia";
  r.actor_roles = kMod;
  r.ts_ms = kT0;
  r.to = {5, 1};
  return r;
}

struct SharedFixture {
  SharedFixture() {
    owner = std::make_unique<OwnerService>(0, f.opt, &log, &out, f.Counters());
    owner->UseSequencing(&sharing);
  }
  // A message of `user` numbered by Redis (as the channel brings it).
  void Said(std::string_view user, uint64_t seq) {
    room::OwnerRoom* r = owner->Rooms().GetOrCreate("r");
    room::PublishInput in{"r", user, "hello", "", kT0 - 1000, 0};
    room::SequencedMsg m{seq, r->RenderMessage(in, seq), 0, 0};
    m.user_tag = room::UserTag(user);
    m.ts_ms = kT0 - 1000;
    owner->Deliver(r, std::move(m));
  }
  const mesh::AckReply* LastAck() {
    for (size_t i = out.sent.size(); i-- > 0;) {
      if (auto* a = std::get_if<mesh::AckReply>(&out.sent[i].msg)) return a;
    }
    return nullptr;
  }
  void Do(mesh::ModerateReq m) { owner->OnModerate(0, m, 1); }
  Fixture f{1};
  RecordingOutbox out;
  MemoryEventLog log{&out};
  RecordingSharing sharing;
  std::unique_ptr<OwnerService> owner;
};

TEST(SharedModeration, BanGoesToRedisThenRetractsTheUsersRecentMessages) {
  SharedFixture s;
  s.Said("troll", 1);
  s.Said("nice", 2);
  s.Do(Act(ModAction::kBan, "troll"));
  ASSERT_EQ(s.sharing.asked.size(), 1u);
  EXPECT_EQ(s.sharing.asked[0].field, "b:troll");
  EXPECT_EQ(s.sharing.asked[0].value, "0 0");  // permanent, not shadow
  EXPECT_EQ(s.LastAck(), nullptr) << "answered only once Redis has it";
  s.sharing.asked[0].cb(SharedAnswer{SharedAnswer::kDone, 0});
  ASSERT_EQ(s.sharing.asked.size(), 2u);  // troll's message only
  const Asked& r = s.sharing.asked[1];
  EXPECT_EQ(r.kind, 'r');
  EXPECT_EQ(r.target, 1u);
  EXPECT_EQ(r.dedup, "x:1");
  EXPECT_NE(r.json.find(R"("seq":1,"at":0,"reason":"banned")"), std::string::npos) << r.json;
  EXPECT_EQ(s.LastAck(), nullptr);
  s.sharing.asked[1].cb(SharedAnswer{SharedAnswer::kDone, 3});
  ASSERT_NE(s.LastAck(), nullptr);
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kNone);
  EXPECT_EQ(s.LastAck()->op, "ban");
  s.Do(Act(ModAction::kAudit));  // the acting node's audit has it
  EXPECT_NE(s.LastAck()->body.find("troll"), std::string::npos) << s.LastAck()->body;
}

TEST(SharedModeration, RedisUnreachableRefusesTheActAndRecordsNothing) {
  SharedFixture s;
  s.Do(Act(ModAction::kBan, "troll"));
  s.sharing.asked[0].cb(SharedAnswer{SharedAnswer::kUnavailable, 0});
  ASSERT_NE(s.LastAck(), nullptr);
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kRedisUnavailable);
  s.Do(Act(ModAction::kAudit));
  EXPECT_EQ(s.LastAck()->body.find("troll"), std::string::npos) << s.LastAck()->body;
  // An unban of nobody: Redis had no such field.
  s.Do(Act(ModAction::kUnban, "nobody"));
  EXPECT_TRUE(s.sharing.asked.back().remove);
  s.sharing.asked.back().cb(SharedAnswer{SharedAnswer::kNoSuchField, 0});
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kNotBanned);
  // A ban list that is full.
  s.Do(Act(ModAction::kBan, "one-too-many"));
  s.sharing.asked.back().cb(SharedAnswer{SharedAnswer::kFull, 0});
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kTooManyBans);
}

TEST(SharedModeration, ModeChangeNumbersItsStateEventWithTheChange) {
  SharedFixture s;
  mesh::ModerateReq m = Act(ModAction::kMode);
  m.op.modes.slow_secs = 5;
  m.op.modes.unique = true;
  s.Do(m);
  ASSERT_EQ(s.sharing.asked.size(), 1u);
  EXPECT_EQ(s.sharing.asked[0].field, "m");
  EXPECT_EQ(s.sharing.asked[0].value, "5 0 0 1");
  EXPECT_NE(s.sharing.asked[0].json.find(R"({"type":"state","room":"r","seq":0,)"),
            std::string::npos)
      << s.sharing.asked[0].json;
  s.sharing.asked[0].cb(SharedAnswer{SharedAnswer::kDone, 9});
  EXPECT_EQ(s.LastAck()->seq, 9u);
}

TEST(SharedModeration, DeleteIsNumberedOnceAcrossNodes) {
  SharedFixture s;
  s.Said("u", 1);
  mesh::ModerateReq d = Act(ModAction::kDelete);
  d.op.seq = 1;
  s.Do(d);
  ASSERT_EQ(s.sharing.asked.size(), 1u);
  EXPECT_EQ(s.sharing.asked[0].kind, 'r');
  // Another node numbered its retraction first: Redis answers with that one.
  s.sharing.asked[0].cb(SharedAnswer{SharedAnswer::kDuplicate, 2});
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kAlreadyRetracted);
  d.op.seq = 7;  // not a message of this room
  s.Do(d);
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kNoSuchMessage);
  EXPECT_EQ(s.sharing.asked.size(), 1u) << "refused here, nothing asked of Redis";
}

TEST(SharedModeration, RulesToldByRedisAreThisNodesCopy) {
  SharedFixture s;
  s.owner->ResetSharedRules("r", {{"b:troll", "0 0"},
                                  {"m", "7 1 0 0"},
                                  {"t", R"({"terms":[{"pattern":"bad",)"
                                        R"("action":"reject"}],"regex":[]})"}});
  s.Do(Act(ModAction::kListBans));
  EXPECT_NE(s.LastAck()->body.find(R"("user":"troll")"), std::string::npos) << s.LastAck()->body;
  mesh::JoinReq j = Join("r");
  s.owner->OnJoin(0, j, 1);  // from shard 0: the fixture has one
  const auto& rep = std::get<mesh::JoinReply>(s.out.sent.back().msg);
  EXPECT_NE(rep.modes_json.find(R"("slow_secs":7,"subscribers_only":true)"), std::string::npos)
      << rep.modes_json;
  // Subscribers only, checked here: refused without asking Redis.
  mesh::PublishReq p = Pub("r", "anyone", "hi");
  s.owner->OnPublish(0, p, 1);
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kSubscribersOnly);
  // The modes and terms go away with a change told; a ban is Redis's to check (the copy may lag
  // an unban): troll's send goes on to Redis.
  s.owner->ApplySharedRule("r", 'd', "m", "");
  p = Pub("r", "troll", "let me in");
  s.owner->OnPublish(0, p, 1);
  p = Pub("r", "anyone", "a bad word");
  s.owner->OnPublish(0, p, 1);
  EXPECT_EQ(s.LastAck()->refusal, Refusal::kBlockedTerm);
  s.owner->ApplySharedRule("r", 's', "t", R"({"terms":[],"regex":[]})");
  p = Pub("r", "anyone", "a bad word");
  s.owner->OnPublish(0, p, 1);
  EXPECT_EQ(s.sharing.submitted, (std::vector<std::string>{"let me in", "a bad word"}));
}

// An allowed held message goes to Redis; one Redis did not number stays held (same id), and
// only a numbered one is audited as allowed.
TEST(SharedModeration, AnAllowedMessageRedisDidNotNumberIsHeldAgain) {
  SharedFixture s;
  s.owner->ApplySharedRule("r", 's', "t", R"({"terms":[{"pattern":"gold","action":"hold"}]})");
  auto pub = Pub("r", "alice", "my gold coin");
  s.owner->OnPublish(1, pub, 1);
  s.Do(Act(ModAction::kHeld));
  ASSERT_NE(s.LastAck()->body.find("gold coin"), std::string::npos) << s.LastAck()->body;
  auto allow = Act(ModAction::kAllow);
  allow.op.held_id = 1;
  s.Do(allow);
  ASSERT_EQ(s.sharing.submitted, (std::vector<std::string>{"my gold coin"}));
  s.sharing.submit_done.at(0)(false);  // Redis unreachable: not numbered
  s.Do(Act(ModAction::kHeld));
  EXPECT_NE(s.LastAck()->body.find(R"("id":1)"), std::string::npos) << s.LastAck()->body;
  s.Do(Act(ModAction::kAudit));
  EXPECT_EQ(s.LastAck()->body.find("allow"), std::string::npos) << s.LastAck()->body;
  s.Do(allow);  // again, by the same id
  ASSERT_EQ(s.sharing.submitted.size(), 2u);
  s.sharing.submit_done.at(1)(true);
  s.Do(Act(ModAction::kHeld));
  EXPECT_EQ(s.LastAck()->body.find("gold coin"), std::string::npos) << s.LastAck()->body;
  s.Do(Act(ModAction::kAudit));
  EXPECT_NE(s.LastAck()->body.find("allow"), std::string::npos) << s.LastAck()->body;
}

// The server-wide blocked terms with --redis: the owner shard of "*" takes them as Redis tells
// them, compiles them once and hands the compiled set to the other shards, which apply that copy
// as a single node does (not through Redis again).
TEST(SharedModeration, ServerWideTermsFromRedisAreHandedToTheOtherShards) {
  Fixture f{2};
  const int keeper = room::OwnerShardOf(chat::kGlobalRoom, 2);
  RecordingOutbox out, other_out;
  MemoryEventLog log{&out}, other_log{&other_out};
  RecordingSharing sharing, other_sharing;
  OwnerService owner(keeper, f.opt, &log, &out, f.Counters());
  OwnerService other(1 - keeper, f.opt, &other_log, &other_out, f.Counters());
  owner.UseSequencing(&sharing);
  other.UseSequencing(&other_sharing);
  auto terms_of = [](OwnerService& o, RecordingOutbox& ob) {
    mesh::ModerateReq get;
    get.room = chat::kGlobalRoom;
    get.op.action = ModAction::kGetTerms;
    get.by_admin_key = true;
    o.OnModerate(0, get, 1);
    return std::get<mesh::AckReply>(ob.sent.back().msg).body;
  };
  owner.ApplySharedRule(chat::kGlobalRoom, 's', "t", R"({"terms":[{"pattern":"zap"}]})");
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0].shard, 1 - keeper);
  mesh::ModerateReq handed = std::get<mesh::ModerateReq>(out.sent[0].msg);
  EXPECT_TRUE(handed.op.propagated);
  ASSERT_EQ(handed.op.rules.size(), 1u);
  ASSERT_NE(handed.op.compiled, nullptr) << "compiled once, by the keeper";
  EXPECT_NE(terms_of(owner, out).find("zap"), std::string::npos);
  other.OnModerate(keeper, handed, 1);
  EXPECT_TRUE(other_sharing.asked.empty()) << "a handed copy never goes to Redis again";
  EXPECT_NE(terms_of(other, other_out).find("zap"), std::string::npos);
  // Redis holds none (a fresh read of the rules hash): cleared, and handed on cleared.
  out.sent.clear();
  owner.ResetSharedRules(chat::kGlobalRoom, {});
  ASSERT_EQ(out.sent.size(), 1u);
  handed = std::get<mesh::ModerateReq>(out.sent[0].msg);
  EXPECT_TRUE(handed.op.rules.empty());
  other.OnModerate(keeper, handed, 1);
  EXPECT_EQ(terms_of(other, other_out).find("zap"), std::string::npos);
  // A list Redis holds that this build cannot read changes nothing.
  owner.ApplySharedRule(chat::kGlobalRoom, 's', "t", "not json");
  EXPECT_EQ(out.sent.size(), 1u);  // nothing handed on
}

}  // namespace
}  // namespace roomcast::owner
