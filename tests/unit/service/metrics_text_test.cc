// The /metrics text from plain counter blocks: every family printed whole (HELP, TYPE, then only
// its own samples, never split or repeated), one sample per shard with its value, cumulative
// histogram buckets, and the hot long-poll room lines as the shards published them.
#include "service/metrics_text.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace roomcast::server {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The family a sample line belongs to: its metric name without a histogram suffix.
std::string FamilyOf(const std::string& sample, const std::string& family) {
  const std::string name = sample.substr(0, sample.find_first_of("{ "));
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (name == family + suffix) return family;
  }
  return name;
}

std::string Render(int shards, std::unique_ptr<ShardMetrics[]>& m) {
  return RenderMetricsText(m.get(), shards, 1.7e9);
}

TEST(MetricsText, EveryFamilyIsPrintedWholeAndOnce) {
  auto m = std::make_unique<ShardMetrics[]>(2);
  m[1].ObserveFanoutDelay(3);
  const std::vector<std::string> lines = Lines(Render(2, m));
  ASSERT_FALSE(lines.empty());
  std::set<std::string> seen;
  std::string family;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("# HELP ", 0) == 0) {
      family = l.substr(7, l.find(' ', 7) - 7);
      EXPECT_TRUE(seen.insert(family).second) << family << " printed twice";
      ASSERT_LT(i + 1, lines.size());
      EXPECT_EQ(lines[i + 1].rfind("# TYPE " + family + " ", 0), 0u) << lines[i + 1];
      ++i;
      continue;
    }
    ASSERT_FALSE(family.empty()) << "a sample before any family: " << l;
    EXPECT_EQ(FamilyOf(l, family), family) << "inside " << family << ": " << l;
  }
  for (const char* f : {"roomcast_build_info", "roomcast_connections", "roomcast_log_disk_bytes",
                        "roomcast_log_commit_max_seconds", "roomcast_fanout_delay_seconds",
                        "roomcast_log_commit_seconds", "roomcast_http_responses_total",
                        "roomcast_errors_sent_total", "roomcast_longpoll_room_parked",
                        "process_cpu_seconds_total"}) {
    EXPECT_TRUE(seen.count(f)) << f << " missing";
  }
}

TEST(MetricsText, OneSamplePerShardWithItsValue) {
  auto m = std::make_unique<ShardMetrics[]>(3);
  ShardMetrics::Set(m[0].connections, 5);
  ShardMetrics::Set(m[2].connections, 7);
  ShardMetrics::Set(m[1].deliveries_total, 123456789012ull);
  m[2].CountHttpStatus(404);
  m[0].CountError("not_found");
  ShardMetrics::Set(m[1].log_commit_us_max, 2500);
  const std::string text = Render(3, m);
  EXPECT_NE(text.find("\nroomcast_connections{shard=\"0\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("\nroomcast_connections{shard=\"1\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nroomcast_connections{shard=\"2\"} 7\n"), std::string::npos);
  EXPECT_EQ(text.find("roomcast_connections{shard=\"3\"}"), std::string::npos);
  EXPECT_NE(text.find("\nroomcast_deliveries_total{shard=\"1\"} 123456789012\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nroomcast_http_responses_total{shard=\"2\",class=\"4xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nroomcast_errors_sent_total{shard=\"0\",code=\"not_found\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nroomcast_log_commit_max_seconds{shard=\"1\"} 0.0025\n"),
            std::string::npos);
  EXPECT_EQ(text.rfind("# HELP roomcast_build_info ", 0), 0u);
}

TEST(MetricsText, HistogramBucketsAreCumulativeInSeconds) {
  auto m = std::make_unique<ShardMetrics[]>(1);
  for (uint64_t ms : {1, 3, 3, 40, 4953}) m[0].ObserveFanoutDelay(ms);
  const std::string text = Render(1, m);
  const char* name = "roomcast_fanout_delay_seconds";
  EXPECT_NE(text.find(std::string("\n") + name + "_bucket{shard=\"0\",le=\"0.001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find(std::string("\n") + name + "_bucket{shard=\"0\",le=\"0.005\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find(std::string("\n") + name + "_bucket{shard=\"0\",le=\"0.05\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find(std::string("\n") + name + "_bucket{shard=\"0\",le=\"2\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find(std::string("\n") + name + "_bucket{shard=\"0\",le=\"+Inf\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find(std::string("\n") + name + "_sum{shard=\"0\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find(std::string("\n") + name + "_count{shard=\"0\"} 5\n"), std::string::npos);
}

TEST(MetricsText, HotPollRoomLinesAsPublished) {
  auto m = std::make_unique<ShardMetrics[]>(2);
  m[1].hot_poll_rooms.store(std::make_shared<const ShardMetrics::HotPollRooms>(
      ShardMetrics::HotPollRooms{"roomcast_longpoll_room_parked{shard=\"1\",room=\"r\"} 9\n",
                                 "roomcast_longpoll_room_timeout_seconds{shard=\"1\",room=\"r\"} "
                                 "25\n"}));
  const std::string text = Render(2, m);
  const size_t parked = text.find("# TYPE roomcast_longpoll_room_parked gauge\n");
  ASSERT_NE(parked, std::string::npos);
  EXPECT_EQ(text.find("roomcast_longpoll_room_parked{shard=\"1\",room=\"r\"} 9\n"),
            text.find('\n', parked) + 1);
  EXPECT_NE(text.find("roomcast_longpoll_room_timeout_seconds{shard=\"1\",room=\"r\"} 25\n"),
            std::string::npos);
}

// Each shard publishes its own busiest rooms; the text shows the busiest `top` of all of them,
// whole families, no shard label, counts printed exactly.
TEST(MetricsText, TopRoomsOfAllShardsOnlyTheBusiestN) {
  auto m = std::make_unique<ShardMetrics[]>(2);
  auto room = [](std::string name, uint64_t online) {
    TopRoom t;
    t.room = std::move(name);
    t.online = online;
    t.unique_5m = 1234567;
    t.msgs_per_s = 2.5;
    t.viewers[1] = online;
    t.lag_ms_p99 = 15;
    return t;
  };
  m[0].top_rooms.store(std::make_shared<const std::vector<TopRoom>>(
      std::vector<TopRoom>{room("a", 50), room("c", 5)}));
  m[1].top_rooms.store(std::make_shared<const std::vector<TopRoom>>(
      std::vector<TopRoom>{room("b", 20), room("d", 1)}));
  const std::string text = RenderMetricsText(m.get(), 2, 1.7e9, 2);
  EXPECT_NE(text.find("roomcast_room_online{room=\"a\"} 50\n"), std::string::npos);
  EXPECT_NE(text.find("roomcast_room_online{room=\"b\"} 20\n"), std::string::npos);
  EXPECT_EQ(text.find("room=\"c\""), std::string::npos);
  EXPECT_EQ(text.find("room=\"d\""), std::string::npos);
  EXPECT_NE(text.find("roomcast_room_unique_5m{room=\"a\"} 1234567\n"), std::string::npos);
  EXPECT_NE(text.find("roomcast_room_messages_per_second{room=\"b\"} 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("roomcast_room_fanout_lag_p99_seconds{room=\"a\"} 0.015\n"),
            std::string::npos);
  EXPECT_NE(text.find("roomcast_room_viewers{room=\"a\",transport=\"sse\"} 50\n"),
            std::string::npos);
  EXPECT_NE(text.find("roomcast_room_viewers{room=\"b\",transport=\"ws\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE roomcast_room_viewers gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace roomcast::server
