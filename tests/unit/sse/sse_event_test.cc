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

}  // namespace
}  // namespace roomcast::sse
