#include "sse/sse_event.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::sse {
namespace {

TEST(SseEvent, WithAndWithoutId) {
  std::string out;
  AppendEvent(&out, "msg", true, 42, R"({"seq":42})");
  AppendEvent(&out, "welcome", false, 0, "{}");
  EXPECT_EQ(out, "id: 42\nevent: msg\ndata: {\"seq\":42}\n\nevent: welcome\ndata: {}\n\n");
}

TEST(SseEvent, IdCarriesTheEpoch) {
  std::string out;
  AppendEvent(&out, "msg", true, 42, "{}", "5f0c9a1e");
  AppendEvent(&out, "gap", true, 0, "{}", "ab12");  // a reset gap's id: seq 0 of the new epoch
  AppendEvent(&out, "welcome", false, 0, "{}", "ab12");
  EXPECT_EQ(out,
            "id: 42:5f0c9a1e\nevent: msg\ndata: {}\n\nid: 0:ab12\nevent: gap\ndata: {}\n\n"
            "event: welcome\ndata: {}\n\n");
}

TEST(SseEvent, CommentAndStreamHead) {
  std::string out;
  AppendComment(&out, "hb");
  EXPECT_EQ(out, ": hb\n\n");
  const std::string head = StreamHead(1000, "Access-Control-Allow-Origin: *\r\n");
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "X-Accel-Buffering: no\r\nAccess-Control-Allow-Origin: *\r\n\r\nretry: 1000\n\n");
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << "a stream ends with its connection";
}

TEST(SseEvent, LastEventIdParsing) {
  uint64_t id = 7;
  EXPECT_TRUE(ParseEventId("0", &id));
  EXPECT_EQ(id, 0u);
  EXPECT_TRUE(ParseEventId(" 123 ", &id));
  EXPECT_EQ(id, 123u);
  EXPECT_TRUE(ParseEventId("9999999999999999999", &id));
  for (const char* bad : {"", " ", "-1", "1.5", "abc", "12a", "99999999999999999999"}) {
    EXPECT_FALSE(ParseEventId(bad, &id)) << bad;
  }
}

TEST(SseEvent, LastEventIdWithEpoch) {
  uint64_t id = 7;
  std::string_view epoch = "old";
  EXPECT_TRUE(ParseEventId(" 42:5f0c9a1e ", &id, &epoch));
  EXPECT_EQ(id, 42u);
  EXPECT_EQ(epoch, "5f0c9a1e");
  EXPECT_TRUE(ParseEventId("3", &id, &epoch));  // a plain SEQ: the room's current epoch
  EXPECT_EQ(id, 3u);
  EXPECT_EQ(epoch, "");
  EXPECT_TRUE(ParseEventId("0:Z9", &id, &epoch));
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(epoch, "Z9");
  const std::string longest = "1:" + std::string(64, 'a');
  EXPECT_TRUE(ParseEventId(longest, &id, &epoch));
  for (const char* bad :
       {"", ":", "1:", ":ab", "1:ab:cd", "1:a-b", "1: ab", "1 :ab", "x:ab", "-1:ab", "1.5:ab"}) {
    EXPECT_FALSE(ParseEventId(bad, &id, &epoch)) << bad;
  }
  EXPECT_FALSE(ParseEventId("1:" + std::string(65, 'a'), &id, &epoch));
}

}  // namespace
}  // namespace roomcast::sse
