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

}  // namespace
}  // namespace roomcast::session
