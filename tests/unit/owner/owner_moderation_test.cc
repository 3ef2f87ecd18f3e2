// OwnerService's moderation, driven by plain calls: sends checked against bans, modes and the
// rate limit at the owner; moderators' acts applied, announced, recorded as control records and
// audited; and everything back after a replay of those records.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "auth/roles.h"
#include "owner/owner_service.h"
#include "owner_fakes.h"
#include "store/segment_log.h"

namespace roomcast::owner {
namespace {

using namespace fakes;  // NOLINT: the shared fakes
using chat::ModAction;
using chat::Refusal;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr auto kMod = auth::Bit(auth::Role::kModerator);

mesh::ModerateReq Act(ModAction a, std::string user = "", int64_t ts = kT0) {
  mesh::ModerateReq r;
  r.room = "r";
  r.op.action = a;
  r.op.user = std::move(user);
  r.actor = "mia";
  r.actor_roles = kMod;
  r.ts_ms = ts;
  r.to = {5, 1};
  return r;
}

mesh::PublishReq Said(std::string user, std::string text, int64_t ts = kT0) {
  mesh::PublishReq p = Pub("r", std::move(user), std::move(text));
  p.ts_ms = ts;
  return p;
}

struct ModFixture {
  ModFixture() {
    f.opt.mod_policy.rate = room::RateSpec{3, 30};
    owner = std::make_unique<OwnerService>(0, f.opt, &log, &out, f.Counters());
  }
  // The answer: the last AckReply sent (forwards may follow it).
  const mesh::AckReply& LastAck() {
    for (size_t i = out.sent.size(); i-- > 0;) {
      if (auto* a = std::get_if<mesh::AckReply>(&out.sent[i].msg)) return *a;
    }
    throw std::runtime_error("no ack sent");
  }
  const mesh::AckReply& Send(mesh::PublishReq p) {
    owner->OnPublish(0, p, 1);
    return LastAck();
  }
  const mesh::AckReply& Do(mesh::ModerateReq m) {
    owner->OnModerate(0, m, 1);
    return LastAck();
  }
  Fixture f{1};
  RecordingOutbox out;
  MemoryEventLog log{&out};
  std::unique_ptr<OwnerService> owner;
};

TEST(OwnerModeration, TheRateLimitRefusesTheFourthWithRetryMs) {
  ModFixture m;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(m.Send(Said("al", "hi " + std::to_string(i), kT0 + i * 1000)).refusal,
              Refusal::kNone);
  }
  const mesh::AckReply& a = m.Send(Said("al", "again", kT0 + 5000));
  EXPECT_EQ(a.refusal, Refusal::kRateLimited);
  EXPECT_EQ(a.retry_ms, 25'000u);  // the first send leaves the 30 s window at kT0 + 30 s
  EXPECT_EQ(m.Send(Said("bo", "me too", kT0 + 5000)).refusal, Refusal::kNone);
  EXPECT_EQ(m.Send(Said("al", "later", kT0 + 30'000)).refusal, Refusal::kNone);
  EXPECT_EQ(m.f.refused.load(), 1u);
}

TEST(OwnerModeration, AResendIsAnsweredEvenWhenTheLimitIsReached) {
  ModFixture m;
  mesh::PublishReq first = Said("al", "one");
  first.cid = "c-1";
  EXPECT_EQ(m.Send(first).seq, 1u);
  m.Send(Said("al", "two"));
  m.Send(Said("al", "three"));
  const mesh::AckReply& again = m.Send(first);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.seq, 1u);
  // A refused message leaves no trace in the resend window: its cid is free once it passes.
  mesh::PublishReq refused = Said("al", "four", kT0 + 1);
  refused.cid = "c-4";
  EXPECT_EQ(m.Send(refused).refusal, Refusal::kRateLimited);
  refused.ts_ms = kT0 + 31'000;
  EXPECT_EQ(m.Send(refused).refusal, Refusal::kNone);
  EXPECT_FALSE(m.LastAck().duplicate);
}

TEST(OwnerModeration, ATimeoutRefusesUntilItEndsAndRetractsRecentMessages) {
  ModFixture m;
  auto j = Join("r");
  m.owner->OnJoin(0, j);
  EXPECT_EQ(m.Send(Said("troll", "spam")).seq, 1u);
  mesh::ModerateReq ban = Act(ModAction::kBan, "troll", kT0 + 1000);
  ban.op.secs = 60;
  m.out.sent.clear();
  const mesh::AckReply& a = m.Do(ban);
  EXPECT_EQ(a.refusal, Refusal::kNone);
  EXPECT_EQ(a.op, "ban");
  // The retract of seq 1 went to the viewers' shard before the ack.
  ASSERT_EQ(m.out.sent.size(), 2u);
  EXPECT_NE(m.out.At<mesh::ForwardMsg>(0).msg.json.find(R"("type":"retract")"), std::string::npos);
  const mesh::AckReply& refused = m.Send(Said("troll", "more", kT0 + 11'000));
  EXPECT_EQ(refused.refusal, Refusal::kBanned);
  EXPECT_EQ(refused.retry_ms, 50'000u);
  EXPECT_EQ(m.Send(Said("troll", "back", kT0 + 61'001)).refusal, Refusal::kNone);
}

TEST(OwnerModeration, NonModeratorsAreRefusedAndUnbanOfNobodyIsNotFound) {
  ModFixture m;
  mesh::ModerateReq ban = Act(ModAction::kBan, "x");
  ban.actor_roles = auth::Bit(auth::Role::kVip);
  EXPECT_EQ(m.Do(ban).refusal, Refusal::kForbidden);
  EXPECT_EQ(m.Do(Act(ModAction::kUnban, "nobody")).refusal, Refusal::kNotBanned);
  mesh::ModerateReq by_key = Act(ModAction::kBan, "x");
  by_key.actor_roles = 0;
  by_key.by_admin_key = true;
  EXPECT_EQ(m.Do(by_key).refusal, Refusal::kNone);
}

TEST(OwnerModeration, AModeChangeIsAStateEventAndInTheWelcome) {
  ModFixture m;
  auto j = Join("r");
  m.owner->OnJoin(0, j);
  mesh::ModerateReq mode = Act(ModAction::kMode);
  mode.op.modes.emote_only = true;
  mode.op.modes.slow_secs = 10;
  m.out.sent.clear();
  EXPECT_EQ(m.Do(mode).seq, 1u);
  const std::string& ev = m.out.At<mesh::ForwardMsg>(0).msg.json;
  EXPECT_NE(ev.find(R"("type":"state","room":"r","seq":1,"online":1,"modes":{"slow_secs":10,)"
                    R"("subscribers_only":false,"emote_only":true,"unique":false})"),
            std::string::npos)
      << ev;
  EXPECT_EQ(m.Send(Said("al", "hello")).refusal, Refusal::kEmoteOnly);
  EXPECT_EQ(m.Send(Said("al", "Kappa :)")).refusal, Refusal::kEmoteOnly);
  mesh::PublishReq vip = Said("vi", "hello");
  vip.roles = auth::Bit(auth::Role::kVip);
  EXPECT_EQ(m.Send(vip).refusal, Refusal::kNone);  // vip and up are exempt
  auto j2 = Join("r");
  m.owner->OnJoin(0, j2);
  EXPECT_NE(m.out.At<mesh::JoinReply>(m.out.sent.size() - 1).modes_json.find(R"("slow_secs":10)"),
            std::string::npos);
}

TEST(OwnerModeration, AFloodOfActsIsRefused) {
  ModFixture m;
  size_t ok = 0;
  for (int i = 0; i < 40; ++i) {
    mesh::ModerateReq mode = Act(ModAction::kMode, "", kT0 + i);
    mode.op.modes.unique = i % 2 == 0;
    if (m.Do(mode).refusal == Refusal::kNone) ++ok;
  }
  EXPECT_EQ(ok, Moderation::kMaxActs);
  EXPECT_EQ(m.LastAck().refusal, Refusal::kTooManyActs);
}

TEST(OwnerModeration, ClearHidesEverythingBeforeItAndClearUserRetractsTheirs) {
  ModFixture m;
  m.Send(Said("al", "one"));
  m.Send(Said("bo", "two"));
  m.Send(Said("al", "three"));
  m.Do(Act(ModAction::kClear, "al"));  // retracts 1 and 3: events 4 and 5
  auto j = Join("r", 0);
  m.owner->OnJoin(0, j);
  const auto& rep = m.out.At<mesh::JoinReply>(m.out.sent.size() - 1);
  size_t msgs = 0;
  for (const auto& e : rep.history) msgs += e.json.find(R"("type":"msg")") != std::string::npos;
  EXPECT_EQ(msgs, 1u);
  EXPECT_EQ(m.Do(Act(ModAction::kClear)).seq, 6u);
  auto j2 = Join("r", 0);
  m.owner->OnJoin(0, j2);
  const auto& after = m.out.At<mesh::JoinReply>(m.out.sent.size() - 1);
  ASSERT_EQ(after.history.size(), 1u);
  EXPECT_NE(after.history[0].json.find(R"("type":"clear")"), std::string::npos);
}

// The log's records as replay gives them back: every event and control record in order.
class RecordingLog final : public EventLog {
 public:
  explicit RecordingLog(Outbox* out) : out_(out) {}
  bool Writable() const override { return true; }
  bool Deferred() const override { return false; }
  void Append(room::OwnerRoom* r, const room::SequencedMsg& m, std::string_view user,
              std::string_view cid, uint64_t target, int64_t ts_ms) override {
    Keep(r, m.seq, target, ts_ms,
         static_cast<uint8_t>((m.Prio() ? store::kRecPrio : 0) |
                              (m.Retract() ? store::kRecRetract : 0)),
         user, cid, m.json);
  }
  void AppendControl(room::OwnerRoom* r, std::string_view actor, std::string_view json,
                     int64_t ts_ms) override {
    Keep(r, 0, 0, ts_ms, store::kRecControl, actor, {}, json);
  }
  void SendAfterWritten(int to, mesh::Message&& msg) override { out_->Send(to, std::move(msg)); }
  void ReplayInto(OwnerService* o) {
    for (const Kept& k : kept) {
      store::Record rec{k.seq, k.target, k.ts, k.flags, k.room, k.epoch, k.user, k.cid, k.json};
      o->RestoreEvent(rec);
    }
    o->EndRestore();
  }

 private:
  struct Kept {
    uint64_t seq, target;
    int64_t ts;
    uint8_t flags;
    std::string room, epoch, user, cid, json;
  };
  void Keep(room::OwnerRoom* r, uint64_t seq, uint64_t target, int64_t ts, uint8_t flags,
            std::string_view user, std::string_view cid, std::string_view json) {
    kept.push_back({seq, target, ts, flags, r->Name(), r->Epoch(), std::string(user),
                    std::string(cid), std::string(json)});
  }
  std::vector<Kept> kept;
  Outbox* out_;
};

TEST(OwnerModeration, BansModesClearsAndTheAuditComeBackFromTheLog) {
  Fixture f(1);
  f.opt.mod_policy.rate = room::RateSpec{};
  RecordingOutbox out;
  RecordingLog log(&out);
  OwnerService first(0, f.opt, &log, &out, f.Counters());
  auto p1 = Said("al", "one");
  first.OnPublish(0, p1, 1);
  mesh::ModerateReq ban = Act(ModAction::kBan, "troll");
  ban.op.reason = "spam";
  first.OnModerate(0, ban, 1);
  mesh::ModerateReq timeout = Act(ModAction::kBan, "brief", kT0);
  timeout.op.secs = 60;
  first.OnModerate(0, timeout, 1);
  mesh::ModerateReq mode = Act(ModAction::kMode);
  mode.op.modes.subscribers_only = true;
  first.OnModerate(0, mode, 1);
  auto clear = Act(ModAction::kClear);
  first.OnModerate(0, clear, 1);

  OwnerService second(0, f.opt, &log, &out, f.Counters());
  log.ReplayInto(&second);
  out.sent.clear();
  mesh::PublishReq sub = Said("su", "hi", kT0 + 1000);
  sub.roles = auth::Bit(auth::Role::kSubscriber);
  second.OnPublish(0, sub, 1);
  EXPECT_EQ(out.At<mesh::AckReply>(0).refusal, Refusal::kNone);
  mesh::PublishReq troll = Said("troll", "hi", kT0 + 1000);
  troll.roles = auth::Bit(auth::Role::kSubscriber);
  second.OnPublish(0, troll, 1);
  EXPECT_EQ(out.At<mesh::AckReply>(1).refusal, Refusal::kBanned);
  mesh::PublishReq brief = Said("brief", "hi", kT0 + 61'000);
  brief.roles = auth::Bit(auth::Role::kSubscriber);
  second.OnPublish(0, brief, 1);
  EXPECT_EQ(out.At<mesh::AckReply>(2).refusal, Refusal::kNone);  // the timeout ended
  mesh::PublishReq plain = Said("pl", "hi", kT0 + 1000);
  second.OnPublish(0, plain, 1);
  EXPECT_EQ(out.At<mesh::AckReply>(3).refusal, Refusal::kSubscribersOnly);
  // The clear still hides "one" (seq 1).
  auto j = Join("r", 0);
  second.OnJoin(0, j);
  for (const auto& e : out.At<mesh::JoinReply>(4).history) {
    EXPECT_EQ(e.json.find(R"("text":"one")"), std::string::npos) << e.json;
  }
  mesh::ModerateReq audit = Act(ModAction::kAudit);
  audit.op.limit = 10;
  second.OnModerate(0, audit, 1);
  const std::string& body = out.At<mesh::AckReply>(5).body;
  EXPECT_NE(body.find(R"("action":"clear")"), std::string::npos) << body;
  EXPECT_LT(body.find(R"("action":"clear")"), body.find(R"("action":"mode")"));  // newest first
  EXPECT_NE(body.find(R"("actor":"mia","action":"ban","target":"troll","reason":"spam")"),
            std::string::npos)
      << body;
}

TEST(OwnerModeration, AShadowBannedSenderIsAckedAndEchoedButNothingIsSequenced) {
  ModFixture m;
  auto j = Join("r");
  m.owner->OnJoin(0, j);
  mesh::ModerateReq ban = Act(ModAction::kBan, "sh");
  ban.op.shadow = true;
  m.Do(ban);
  m.out.sent.clear();
  mesh::PublishReq p = Said("sh", "can you see me");
  p.cid = "c-9";
  const mesh::AckReply& a = m.Send(p);
  EXPECT_EQ(a.refusal, Refusal::kNone);
  EXPECT_EQ(a.id, "c-9");
  EXPECT_NE(a.echo.find(R"("text":"can you see me")"), std::string::npos);
  EXPECT_EQ(m.out.sent.size(), 1u);  // the ack only: nothing forwarded
  EXPECT_EQ(m.f.sequenced.load(), 0u);
}

}  // namespace
}  // namespace roomcast::owner
