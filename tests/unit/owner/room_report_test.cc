// The owner's room numbers (room_report.cc): distinct viewers from join keys, viewers per
// transport from counted joins and leaves, the message rate, lag reports, the report object,
// and each shard's top rooms.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "owner/owner_service.h"
#include "owner_fakes.h"

namespace roomcast::owner {
namespace {

using namespace fakes;  // NOLINT: the shared fakes

constexpr uint64_t kT0 = 1'000'000'000;

mesh::JoinReq KeyedJoin(const std::string& room, const std::string& viewer, mesh::JoinMode mode) {
  mesh::JoinReq j = Join(room);
  j.viewer = room::HashItem(viewer);
  j.mode = mode;
  if (mode == mesh::JoinMode::kPoll) j.since = 0;  // a poll parked at the head: counted
  return j;
}

std::string ReportJson(OwnerService& owner, RecordingOutbox& out, const std::string& room,
                       uint64_t now) {
  out.sent.clear();
  mesh::RoomStatsReq req;
  req.room = room;
  owner.OnRoomStats(1, req, now);
  EXPECT_EQ(out.sent.size(), 1u);
  const auto& ack = out.At<mesh::AckReply>(0);
  return ack.refusal == chat::Refusal::kNone ? ack.body : "refused";
}

TEST(RoomReport, CountsViewersByTransportAndDistinctKeys) {
  Fixture f(2);
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  for (const char* v : {"u:a", "u:b", "u:a"}) {  // "a" twice: one distinct viewer
    auto j = KeyedJoin("r", v, mesh::JoinMode::kWs);
    owner.OnJoin(1, j, kT0);
  }
  auto s = KeyedJoin("r", "a:anon-0-4-1", mesh::JoinMode::kSse);
  owner.OnJoin(0, s, kT0);
  auto p = KeyedJoin("r", "u:c", mesh::JoinMode::kPoll);
  owner.OnJoin(1, p, kT0);
  owner.OnLeave(1, mesh::LeaveReq{"r", 1, mesh::JoinMode::kWs});
  EXPECT_EQ(ReportJson(owner, out, "r", kT0),
            R"({"room":"r","online":4,"unique_5m":4,"unique_total":4,"msgs_per_s":0.0,)"
            R"("viewers":{"ws":2,"sse":1,"longpoll":1},"modes":{"slow_secs":0,)"
            R"("subscribers_only":false,"emote_only":false,"unique":false},"hot":false,)"
            R"("sampled":false,"lag_ms_p99":0})");
  EXPECT_EQ(ReportJson(owner, out, "nope", kT0), "refused");
  EXPECT_EQ(out.At<mesh::AckReply>(0).refusal, chat::Refusal::kNoSuchRoom);
}

TEST(RoomReport, RateLagAndTopRoomsByOnlineAndMsgs) {
  Fixture f(2);
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  for (int i = 0; i < 3; ++i) {
    auto j = KeyedJoin("big", "u:" + std::to_string(i), mesh::JoinMode::kWs);
    owner.OnJoin(1, j, kT0);
  }
  auto j = KeyedJoin("small", "u:x", mesh::JoinMode::kWs);
  owner.OnJoin(1, j, kT0);
  for (int i = 0; i < 10; ++i) {
    auto m = Pub("small", "alice", "hi", "c" + std::to_string(i));
    owner.OnPublish(0, m, kT0 + 100);
  }
  owner.OnLagReport(1, mesh::LagReport{{{"small", 7}, {"gone", 3}}}, kT0 + 1000);
  const uint64_t now = kT0 + 1000;
  EXPECT_NE(ReportJson(owner, out, "small", now).find(R"("msgs_per_s":2.0)"), std::string::npos);
  EXPECT_NE(ReportJson(owner, out, "small", now).find(R"("lag_ms_p99":7})"), std::string::npos);
  for (auto [by, first] :
       {std::pair{mesh::RoomOrder::kOnline, "big"}, std::pair{mesh::RoomOrder::kMsgs, "small"}}) {
    out.sent.clear();
    mesh::RoomStatsReq req;
    req.top = 1;
    req.by = by;
    req.gather = 42;
    owner.OnRoomStats(1, req, now);
    const auto& rep = out.At<mesh::RoomStatsReply>(0);
    EXPECT_EQ(rep.gather, 42u);
    ASSERT_EQ(rep.rows.size(), 1u);
    EXPECT_EQ(rep.rows[0].room, first);
  }
  const std::vector<TopRoom> top = owner.TopRooms(10, now);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].room, "big");
  EXPECT_EQ(top[0].online, 3u);
  EXPECT_EQ(top[0].unique_total, 3u);
  EXPECT_EQ(top[0].viewers[0], 3u);
  EXPECT_EQ(top[1].lag_ms_p99, 7u);
}

TEST(RoomReport, PresenceOffKeepsOnlineOnly) {
  Fixture f(2);
  f.opt.presence = false;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j = KeyedJoin("r", "u:a", mesh::JoinMode::kWs);
  owner.OnJoin(1, j, kT0);
  const std::string rep = ReportJson(owner, out, "r", kT0);
  EXPECT_NE(rep.find(R"("online":1,"unique_5m":0,"unique_total":0)"), std::string::npos) << rep;
  EXPECT_NE(rep.find(R"("viewers":{"ws":0,)"), std::string::npos) << rep;
}

// --redis: the other nodes' viewers and the fleet's distinct viewers (owner_fleet.cc) are what a
// report, a presence state and a welcome tell; a fleet sketch smaller than this node's own is not.
TEST(RoomReport, FleetCountsFromRedisAreTold) {
  Fixture f(2);
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  owner.OnTurn(kT0);
  for (const char* v : {"u:a", "u:b"}) {
    auto j = KeyedJoin("r", v, mesh::JoinMode::kWs);
    owner.OnJoin(1, j, kT0);
  }
  owner.OnTurn(kT0 + 5000);  // the viewers here are told 2
  room::OwnerRoom* r = owner.Rooms().Find("r");
  ASSERT_NE(r, nullptr);
  owner.SetFleetCounts(r, 5, 9, 20);
  std::string rep = ReportJson(owner, out, "r", kT0);
  EXPECT_NE(rep.find(R"("online":7,"unique_5m":9,"unique_total":20)"), std::string::npos) << rep;
  out.sent.clear();
  owner.OnTurn(kT0 + 10000);
  ASSERT_EQ(out.sent.size(), 1u);
  const auto& state = out.At<mesh::RoomEvent>(0);
  EXPECT_EQ(state.type, "state");
  EXPECT_EQ(state.online, 7u);
  EXPECT_NE(state.json.find(R"("online":7,"unique_5m":9)"), std::string::npos) << state.json;
  out.sent.clear();
  auto j = KeyedJoin("r", "u:c", mesh::JoinMode::kWs);
  owner.OnJoin(1, j, kT0 + 10000);
  EXPECT_EQ(out.At<mesh::JoinReply>(0).online, 8u);
  owner.SetFleetCounts(r, 0, 1, 1);
  rep = ReportJson(owner, out, "r", kT0 + 10000);
  EXPECT_NE(rep.find(R"("online":3,"unique_5m":3,"unique_total":3)"), std::string::npos) << rep;
}

}  // namespace
}  // namespace roomcast::owner
