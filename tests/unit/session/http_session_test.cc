// The plain HTTP handler driven by bytes: status endpoints, a send (publish ask, the owner's ack
// -> the 200 answer, requests pipelined behind it held until then), a history page, refusals and
// malformed input.
#include <gtest/gtest.h>

#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::Harness;

TEST(HttpSession, HealthzAnswersAndKeepsTheConnection) {
  Harness h;
  h.Accept(1);
  h.Recv(1, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string out = h.out.Take(1);
  EXPECT_EQ(out.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(out.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 15), R"({"status":"ok"})");
  EXPECT_FALSE(h.out.conns[1].closed);
}

TEST(HttpSession, ReadyzIs503WhileTheLogCannotBeWritten) {
  Harness h;
  h.rooms.log_writable = false;
  h.Accept(1);
  h.Recv(1, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.out.Take(1).substr(0, 12), "HTTP/1.1 503");
}

TEST(HttpSession, SendIsAnsweredAfterTheAckAndHoldsPipelinedInput) {
  Harness h;
  h.Accept(1);
  h.Recv(1,
         "POST /rooms/lobby/messages?user=carol HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n"
         R"({"text":"hey"})"
         "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.rooms.publishes.size(), 1u);
  EXPECT_TRUE(h.rooms.publishes[0].http);
  EXPECT_EQ(h.rooms.publishes[0].user, "carol");
  EXPECT_EQ(h.rooms.publishes[0].text, "hey");
  EXPECT_EQ(h.out.Take(1), "");  // the health check waits behind the send

  mesh::AckReply ack;
  ack.to = h.rooms.publishes[0].to;
  ack.http = true;
  ack.cors = h.rooms.publishes[0].cors;
  ack.seq = 3;
  ack.id = "m3";
  h.sessions->OnAnswer(ack);
  const std::string out = h.out.Take(1);
  const size_t sent = out.find(R"({"seq":3,"id":"m3"})");
  const size_t health = out.find(R"({"status":"ok"})");
  ASSERT_NE(sent, std::string::npos);
  ASSERT_NE(health, std::string::npos);
  EXPECT_LT(sent, health);
}

TEST(HttpSession, RefusedSendGetsTheRefusalsStatus) {
  Harness h;
  h.Accept(1);
  h.Recv(1,
         "POST /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n"
         R"({"text":"hey"})");
  mesh::AckReply ack;
  ack.to = h.rooms.publishes[0].to;
  ack.http = true;
  ack.refusal = chat::Refusal::kLogFailed;
  h.sessions->OnAnswer(ack);
  const chat::RefusalInfo& e = chat::Describe(chat::Refusal::kLogFailed);
  const std::string out = h.out.Take(1);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 " + std::to_string(e.http_status));
  EXPECT_NE(out.find(std::string(e.code)), std::string::npos);
}

TEST(HttpSession, HistoryPageIsAskedAndAnswered) {
  Harness h;
  h.Accept(1);
  h.Recv(1, "GET /rooms/lobby/history?after=4&limit=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.rooms.histories.size(), 1u);
  EXPECT_EQ(h.rooms.histories[0].after, 4u);
  EXPECT_EQ(h.rooms.histories[0].limit, 2u);
  mesh::HistoryReply rep;
  rep.to = h.rooms.histories[0].to;
  rep.room = "lobby";
  rep.epoch = "E1";
  rep.head = 9;
  rep.last = 6;
  rep.msgs.resize(2);
  rep.msgs[0].json = R"({"seq":5})";
  rep.msgs[1].json = R"({"seq":6})";
  h.sessions->OnAnswer(rep);
  const std::string out = h.out.Take(1);
  EXPECT_NE(out.find(R"({"messages":[{"seq":5},{"seq":6}],"more":true,"epoch":"E1","seq":9})"),
            std::string::npos);
}

TEST(HttpSession, MalformedHeadIs400AndCloses) {
  Harness h;
  h.Accept(1);
  h.Recv(1, "NOT HTTP\r\n\r\n");
  EXPECT_EQ(h.out.Take(1).substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_TRUE(h.out.conns[1].closed);
}

TEST(HttpSession, SlowHeadTimesOutWith408) {
  Harness h;
  h.Accept(1);
  h.Recv(1, "GET /healthz HTTP/1.1\r\n");
  h.sessions->SetClock(h.cfg.handshake_timeout_secs + 1);
  h.sessions->OnSecond();
  EXPECT_EQ(h.out.Take(1).substr(0, 12), "HTTP/1.1 408");
}

TEST(HttpSession, UnknownPathIs404) {
  Harness h;
  h.Accept(1);
  h.Recv(1, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.out.Take(1).substr(0, 22), "HTTP/1.1 404 Not Found");
}

mesh::HistoryReply SnapshotReply(const mesh::HistoryReq& ask, uint64_t online) {
  mesh::HistoryReply rep;
  rep.to = ask.to;
  rep.room = ask.room;
  rep.latest = true;
  rep.limit = ask.limit;
  rep.epoch = "E1";
  rep.head = 7;
  rep.online = online;
  rep.msgs.resize(1);
  rep.msgs[0].json = R"({"seq":7})";
  return rep;
}

TEST(HttpSession, SnapshotIsBuiltOnceAndSharedWithinASecond) {
  Harness h;
  h.Accept(1);
  h.Accept(2);
  h.Recv(1, "GET /rooms/lobby/snapshot HTTP/1.1\r\nHost: x\r\n\r\n");
  h.Recv(2, "GET /rooms/lobby/snapshot HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.rooms.histories.size(), 1u);  // the second waits for the same build
  EXPECT_TRUE(h.rooms.histories[0].latest);
  EXPECT_EQ(h.rooms.histories[0].limit, 50u);
  EXPECT_EQ(h.out.Take(1), "");
  mesh::HistoryReply rep = SnapshotReply(h.rooms.histories[0], 3);
  h.sessions->OnAnswer(rep);
  const std::string a = h.out.Take(1), b = h.out.Take(2);
  const std::string body = R"({"room":"lobby","epoch":"E1","seq":7,"online":3,)"
                           R"("messages":[{"seq":7}],"reactions":{}})";
  EXPECT_NE(a.find(body), std::string::npos) << a;
  EXPECT_NE(a.find("Cache-Control: public, max-age=1\r\n"), std::string::npos);
  EXPECT_EQ(a, b);
  const size_t at = a.find("ETag: ");
  ASSERT_NE(at, std::string::npos);
  const std::string etag = a.substr(at + 6, a.find("\r\n", at) - at - 6);
  // Within the second: from the cache, 304 for the current ETag.
  h.out.now_ms += 500;
  h.Recv(1, "GET /rooms/lobby/snapshot HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + "\r\n\r\n");
  EXPECT_EQ(h.rooms.histories.size(), 1u);
  EXPECT_EQ(h.out.Take(1).substr(0, 12), "HTTP/1.1 304");
  EXPECT_EQ(h.metrics->snapshot_builds_total.load(), 1u);
  EXPECT_EQ(h.metrics->snapshot_not_modified_total.load(), 1u);
  // A second later: rebuilt.
  h.out.now_ms += 600;
  h.Recv(2, "GET /rooms/lobby/snapshot HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.rooms.histories.size(), 2u);
}

TEST(HttpSession, SnapshotLimitIsChecked) {
  Config cfg;
  cfg.max_history_request = 5;
  Harness h(cfg);
  h.Accept(1);
  h.Recv(1, "GET /rooms/lobby/snapshot?limit=6 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.out.Take(1).substr(0, 12), "HTTP/1.1 400");
  h.Recv(1, "GET /rooms/lobby/snapshot HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.rooms.histories.size(), 1u);
  EXPECT_EQ(h.rooms.histories[0].limit, 5u);  // the default 50, capped
}

}  // namespace
}  // namespace roomcast::session
