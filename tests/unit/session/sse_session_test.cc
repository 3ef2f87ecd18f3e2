// The SSE handler driven by bytes: a stream request in -> the stream head and a join ask that
// resumes after Last-Event-ID; the owner's answer -> the welcome event and the missed events;
// forwarded events -> one batch with ids; a bad Last-Event-ID -> 400.
#include <gtest/gtest.h>

#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::Harness;

TEST(SseSession, LastEventIdResumesAndMissedEventsFollowTheWelcome) {
  Harness h;
  h.Accept(2);
  h.Recv(2, "GET /rooms/lobby/events?user=bob HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\n");
  const std::string head = h.out.Take(2);
  EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(head.find("retry: 1000\n"), std::string::npos);
  ASSERT_EQ(h.rooms.joins.size(), 1u);
  EXPECT_EQ(h.rooms.joins[0].mode, mesh::JoinMode::kSse);
  EXPECT_EQ(h.rooms.joins[0].since, 7u);

  mesh::JoinReply rep = h.JoinAnswer(9);
  rep.history.resize(2);
  rep.history[0].seq = 8;
  rep.history[0].json = R"({"seq":8})";
  rep.history[1].seq = 9;
  rep.history[1].json = R"({"seq":9})";
  h.sessions->OnAnswer(rep);
  EXPECT_EQ(
      h.out.Take(2),
      "event: welcome\ndata: "
      R"({"type":"welcome","room":"lobby","epoch":"E1","seq":9,"online":1,)"
      R"("modes":{"slow_secs":0,"subscribers_only":false,"emote_only":false,"unique":false},"user":"bob"})"
      "\n\nid: 8:E1\nevent: msg\ndata: {\"seq\":8}\n\nid: 9:E1\nevent: msg\ndata: {\"seq\":9}\n\n");
  EXPECT_EQ(h.sessions->GetStats().sse_viewers, 1u);

  h.Forward("lobby", 10, R"({"seq":10})");
  h.Idle(10);
  EXPECT_EQ(h.out.Take(2), "id: 10:E1\nevent: msg\ndata: {\"seq\":10}\n\n");

  h.Closed(2);
  ASSERT_EQ(h.rooms.leaves.size(), 1u);
  EXPECT_EQ(h.sessions->GetStats().sse_viewers, 0u);
  EXPECT_EQ(h.sessions->GetStats().replicas, 0u);
}

TEST(SseSession, MalformedLastEventIdIs400) {
  Harness h;
  h.Accept(2);
  h.Recv(2, "GET /rooms/lobby/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: x7\r\n\r\n");
  const std::string out = h.out.Take(2);
  EXPECT_EQ(out.substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(out.find("Last-Event-ID must be SEQ or SEQ:EPOCH"), std::string::npos);
  EXPECT_TRUE(h.rooms.joins.empty());
}

TEST(SseSession, HeartbeatGoesToEveryStreamOnItsSecond) {
  Harness h;
  h.Accept(2);
  h.Recv(2, "GET /rooms/lobby/events HTTP/1.1\r\nHost: x\r\n\r\n");
  mesh::JoinReply rep = h.JoinAnswer(0);
  h.sessions->OnAnswer(rep);
  h.out.Take(2);
  h.sessions->OnSecond();  // second 0: the first heartbeat is due
  EXPECT_EQ(h.out.Take(2), ": hb\n\n");
  h.sessions->SetClock(5);
  h.sessions->OnSecond();  // not yet (every 15 s)
  EXPECT_EQ(h.out.Take(2), "");
}

TEST(SseSession, InputOnAStreamIsIgnored) {
  Harness h;
  h.Accept(2);
  h.Recv(2, "GET /rooms/lobby/events HTTP/1.1\r\nHost: x\r\n\r\n");
  h.out.Take(2);
  h.Recv(2, "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.out.Take(2), "");
}

}  // namespace
}  // namespace roomcast::session
