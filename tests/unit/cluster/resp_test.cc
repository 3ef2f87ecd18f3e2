// RESP formatting and reading (hiredis underneath), --redis address lists, the jump hash that
// spreads rooms over instances, and the channel message format. No Redis needed.
#include "cluster/resp.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cluster/redis_link.h"
#include "cluster/room_shards.h"
#include "cluster/sequencer.h"

namespace roomcast::cluster {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Resp, FormatsABinarySafeCommand) {
  const std::string_view argv[] = {"SET", "k", std::string_view("a\r\n\0b", 5)};
  const std::string want =
      std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n") + std::string("a\r\n\0b", 5) + "\r\n";
  EXPECT_EQ(FormatCommand(argv), want);
}

TEST(Resp, ReadsRepliesSplitAnywhere) {
  const std::string wire = "+OK\r\n:42\r\n$3\r\nabc\r\n*2\r\n$1\r\nx\r\n$-1\r\n-ERR no\r\n";
  RespReader reader;
  std::vector<Reply> got;
  for (char c : wire) {
    ASSERT_TRUE(reader.Feed(Bytes(std::string_view(&c, 1))));
    Reply r;
    while (reader.Next(&r) == RespReader::kReply) got.push_back(r);
  }
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].kind, Reply::kStatus);
  EXPECT_EQ(got[0].str, "OK");
  EXPECT_EQ(got[1].integer, 42);
  EXPECT_EQ(got[2].str, "abc");
  ASSERT_EQ(got[3].elements.size(), 2u);
  EXPECT_EQ(got[3].elements[0].str, "x");
  EXPECT_EQ(got[3].elements[1].kind, Reply::kNil);
  EXPECT_TRUE(got[4].IsError());
  EXPECT_FALSE(got[4].IsUnavailable());
}

TEST(Resp, ReportsAProtocolError) {
  RespReader reader;
  reader.Feed(Bytes("?what\r\n"));
  Reply r;
  EXPECT_EQ(reader.Next(&r), RespReader::kProtocolError);
}

TEST(Resp, LocalErrorsAreTellable) {
  EXPECT_TRUE(Reply::Unavailable("down").IsUnavailable());
  EXPECT_TRUE(Reply::Timeout().IsTimeout());
  EXPECT_FALSE(Reply::Error("ERR unavailable").IsUnavailable());
}

TEST(RedisAddresses, ParsesAListAndRefusesBadOnes) {
  std::vector<RedisAddress> a;
  std::string err;
  ASSERT_TRUE(ParseRedisAddresses("127.0.0.1:6379,[::1]:7000", &a, &err)) << err;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].host, "127.0.0.1");
  EXPECT_EQ(a[0].port, 6379);
  EXPECT_EQ(a[1].host, "::1");
  EXPECT_EQ(a[1].ToString(), "[::1]:7000");
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":1", "h:1,", "::1:5",
                          "[::1]5", "h:x"}) {
    EXPECT_FALSE(ParseRedisAddresses(bad, &a, &err)) << bad;
    EXPECT_NE(err.find("Redis"), std::string::npos) << err;
  }
}

TEST(RoomShards, JumpHashIsStableAndMovesFewRoomsWhenGrowing) {
  EXPECT_EQ(JumpHash(12345, 1), 0u);
  std::map<uint32_t, int> per;
  int moved = 0;
  const int rooms = 10000;
  for (int i = 0; i < rooms; ++i) {
    const std::string room = "room-" + std::to_string(i);
    const uint32_t three = InstanceOf(room, 3);
    ASSERT_LT(three, 3u);
    EXPECT_EQ(three, InstanceOf(room, 3));
    ++per[three];
    const uint32_t four = InstanceOf(room, 4);
    if (four != three) {
      ++moved;
      EXPECT_EQ(four, 3u);  // a room only ever moves to the new instance
    }
  }
  for (auto& [inst, n] : per) EXPECT_NEAR(n, rooms / 3, rooms / 20) << inst;
  EXPECT_NEAR(moved, rooms / 4, rooms / 20);
  // FNV-1a 64 of "a" (a fixed value: every node must pick the same instance).
  EXPECT_EQ(RoomHash64("a"), 0xaf63dc4c8601ec8cull);
}

TEST(Sequencer, ChannelMessagesParse) {
  StoredEvent ev;
  ASSERT_TRUE(ParseChannelMessage("12:00ab:{\"x\":\"a:b\"}", &ev));
  EXPECT_EQ(ev.seq, 12u);
  EXPECT_EQ(ev.epoch, "00ab");
  EXPECT_EQ(ev.payload, "{\"x\":\"a:b\"}");
  EXPECT_FALSE(ParseChannelMessage("12:00ab", &ev));
  EXPECT_FALSE(ParseChannelMessage("x:e:p", &ev));
  EXPECT_EQ(RoomStreamKey("r1"), "rc:{r1}:s");
}

}  // namespace
}  // namespace roomcast::cluster
