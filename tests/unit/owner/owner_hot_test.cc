// Hot rooms at the owner (owner_hot.cc), driven by plain calls: automatic slow mode on above
// --hot-msgs-per-sec and off after the cool-down, announced in `state` and written as control
// records; a moderator's slow mode wins; honest sampling acks and forwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "owner/owner_service.h"
#include "owner_fakes.h"

namespace roomcast::owner {
namespace {

using namespace fakes;  // NOLINT: the shared fakes
using chat::Refusal;

constexpr int64_t kT0 = 1'700'000'000'000;

mesh::PublishReq From(std::string user, std::string text, int64_t ts_ms) {
  mesh::PublishReq p = Pub("r", std::move(user), std::move(text));
  p.ts_ms = ts_ms;
  return p;
}

// The `state` events forwarded to shard 1, in order.
std::vector<std::string> States(RecordingOutbox& out) {
  std::vector<std::string> states;
  for (const Sent& s : out.sent) {
    const auto* f = std::get_if<mesh::ForwardMsg>(&s.msg);
    if (f && s.shard == 1 && f->msg.json.find(R"("type":"state")") != std::string::npos)
      states.push_back(f->msg.json);
  }
  return states;
}

struct HotFixture : Fixture {
  HotFixture() {
    opt.hot.hot_msgs_per_sec = 5;
    opt.hot.max_visible_rate = 0;
    opt.hot.cool_down_secs = 2;
  }
};

TEST(OwnerHot, AutoSlowModeTurnsOnAboveTheRateAndOffAfterTheCoolDown) {
  HotFixture f;
  RecordingOutbox out;
  HoldingLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j = Join("r");
  owner.OnJoin(1, j);
  for (int i = 0; i < 60; ++i) {  // 60 in one second: 12 a second over five
    auto p = From("u" + std::to_string(i), "hi", kT0 + i);
    owner.OnPublish(0, p, 1000 + static_cast<uint64_t>(i));
  }
  owner.OnSecond(kT0 + 1500, 2500);
  log.Flush();
  std::vector<std::string> states = States(out);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_NE(states[0].find(R"("slow_secs":3,)"), std::string::npos) << states[0];
  EXPECT_NE(states[0].find(R"("auto":true})"), std::string::npos) << states[0];
  EXPECT_NE(states[0].find(R"("hot":true)"), std::string::npos) << states[0];
  ASSERT_EQ(log.controls.size(), 1u);
  EXPECT_EQ(log.controls[0].rfind("auto {\"act\":\"mode\"", 0), 0u) << log.controls[0];
  // Slow mode acts: a second send within 3 s is refused; the join's welcome says so.
  out.sent.clear();
  auto first = From("u0", "first", kT0 + 1600);
  owner.OnPublish(0, first, 2600);  // acked once written (held by the log)
  auto again = From("u0", "again", kT0 + 1700);
  owner.OnPublish(0, again, 2700);
  EXPECT_EQ(out.At<mesh::AckReply>(0).refusal, Refusal::kSlowMode);
  auto j2 = Join("r");
  owner.OnJoin(1, j2);
  EXPECT_NE(out.At<mesh::JoinReply>(1).modes_json.find(R"("auto":true)"), std::string::npos);
  // Under half the rate (the burst out of the window) for the cool-down: off.
  out.sent.clear();
  owner.OnSecond(kT0 + 7000, 8000);
  log.Flush();
  EXPECT_TRUE(States(out).empty());
  owner.OnSecond(kT0 + 9500, 10'500);
  log.Flush();
  states = States(out);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_NE(states[0].find(R"("slow_secs":0,)"), std::string::npos) << states[0];
  EXPECT_EQ(states[0].find("auto"), std::string::npos) << states[0];
  EXPECT_EQ(states[0].find("hot"), std::string::npos) << states[0];
  EXPECT_EQ(log.controls.size(), 2u);
}

TEST(OwnerHot, AModeratorsSlowModeWinsAndItsOffLiftsTheAutomaticOne) {
  HotFixture f;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j = Join("r");
  owner.OnJoin(1, j);
  for (int i = 0; i < 60; ++i) {
    auto p = From("u" + std::to_string(i), "hi", kT0 + i);
    owner.OnPublish(0, p, 1000 + static_cast<uint64_t>(i));
  }
  owner.OnSecond(kT0 + 1500, 2500);
  mesh::ModerateReq mode;
  mode.room = "r";
  mode.op.action = chat::ModAction::kMode;
  mode.op.modes.slow_secs = 20;
  mode.actor = "mia";
  mode.by_admin_key = true;
  mode.ts_ms = kT0 + 1600;
  owner.OnModerate(0, mode, 2600);
  std::vector<std::string> states = States(out);
  ASSERT_EQ(states.size(), 2u);
  EXPECT_NE(states[1].find(R"("slow_secs":20,)"), std::string::npos) << states[1];
  EXPECT_EQ(states[1].find("auto"), std::string::npos) << states[1];
  // The room cools down: the automatic mode goes, the moderator's stays.
  owner.OnSecond(kT0 + 7000, 8000);
  owner.OnSecond(kT0 + 9500, 10'500);
  states = States(out);
  ASSERT_EQ(states.size(), 3u);
  EXPECT_NE(states[2].find(R"("slow_secs":20,)"), std::string::npos) << states[2];
  // Hot again: automatic slow mode is back underneath; the moderator's "slow_secs":0 lifts both.
  for (int i = 0; i < 60; ++i) {
    auto p = From("v" + std::to_string(i), "hi", kT0 + 20'000 + i);
    owner.OnPublish(0, p, 21'000 + static_cast<uint64_t>(i));
  }
  owner.OnSecond(kT0 + 21'500, 22'500);
  mode.op.modes.slow_secs = 0;
  mode.ts_ms = kT0 + 22'600;
  owner.OnModerate(0, mode, 22'600);
  states = States(out);
  ASSERT_EQ(states.size(), 5u);
  EXPECT_NE(states[4].find(R"("slow_secs":0,)"), std::string::npos) << states[4];
  EXPECT_EQ(states[4].find("auto"), std::string::npos) << states[4];
  out.sent.clear();
  auto p = From("v0", "free again", kT0 + 22'700);
  owner.OnPublish(0, p, 22'700);
  EXPECT_EQ(out.At<mesh::AckReply>(0).refusal, Refusal::kNone);
}

TEST(OwnerHot, SampledOutMessagesAreAckedAsSuchForwardedFlaggedAndCounted) {
  Fixture f;
  f.opt.hot.hot_msgs_per_sec = 0;
  f.opt.hot.max_visible_rate = 2;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j = Join("r");
  owner.OnJoin(1, j);
  out.sent.clear();
  for (int i = 0; i < 6; ++i) {
    auto p = From("alice", i == 4 ? "look @vic." : "hi", kT0 + i);
    owner.OnPublish(0, p, 5000);
  }
  auto prio = From("system", "goal", kT0 + 7);
  prio.admin = true;
  prio.prio = true;
  owner.OnPublish(0, prio, 5000);
  ASSERT_EQ(out.sent.size(), 14u);  // an ack and a forward each
  for (int i = 0; i < 7; ++i) {
    const auto& ack = out.At<mesh::AckReply>(2 * static_cast<size_t>(i));
    const auto& fwd = out.At<mesh::ForwardMsg>(2 * static_cast<size_t>(i) + 1);
    const bool want_sampled = i >= 2 && i < 6;  // two shown, the prio one never sampled
    EXPECT_EQ(ack.sampled, want_sampled) << i;
    EXPECT_EQ(fwd.msg.Sampled(), want_sampled) << i;
    if (!want_sampled) {
      EXPECT_TRUE(fwd.see_tags.empty());
      continue;
    }
    EXPECT_NE(std::find(fwd.see_tags.begin(), fwd.see_tags.end(), room::UserTag("alice")),
              fwd.see_tags.end());
    const bool mentions = std::find(fwd.see_tags.begin(), fwd.see_tags.end(),
                                    room::UserTag("vic")) != fwd.see_tags.end();
    EXPECT_EQ(mentions, i == 4) << i;
  }
  // History keeps all seven; the next second's marker counts the ordinary ones.
  EXPECT_EQ(owner.Rooms().Find("r")->Recent(100).size(), 7u);
  out.sent.clear();
  owner.OnSecond(kT0 + 1200, 6200);
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0].shard, 1);
  const auto& notice = out.At<mesh::RoomEvent>(0);
  EXPECT_EQ(notice.type, "sampled");
  EXPECT_EQ(notice.json, R"({"type":"sampled","room":"r","shown":2,"total":6})");
}

TEST(OwnerHot, ABurstWithinOneSecondBeforeTheCheckStillGetsItsMarker) {
  Fixture f;
  f.opt.hot.hot_msgs_per_sec = 0;
  f.opt.hot.max_visible_rate = 2;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j = Join("r");
  owner.OnJoin(1, j);
  for (int i = 0; i < 6; ++i) {
    auto p = From("alice", "hi", kT0 + i);
    owner.OnPublish(0, p, 5000);
  }
  out.sent.clear();
  owner.OnSecond(kT0 + 500, 5500);  // the same second: nothing to report yet, but still watched
  EXPECT_TRUE(out.sent.empty());
  owner.OnSecond(kT0 + 1500, 6500);
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.At<mesh::RoomEvent>(0).json,
            R"({"type":"sampled","room":"r","shown":2,"total":6})");
}

}  // namespace
}  // namespace roomcast::owner
