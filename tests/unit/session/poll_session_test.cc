// The long-poll handler driven by bytes: a first poll in -> a join ask for the recent history,
// the owner's answer -> a 200 with the messages and a signed cursor; the poll with that cursor
// -> a resume ask after its seq, parked when there is nothing newer, answered by the next batch
// (or, empty, at its deadline); pipelined requests wait behind it.
#include <gtest/gtest.h>

#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::Harness;

std::string CursorOf(const std::string& answer) {
  const size_t at = answer.find(R"("cursor":")");
  if (at == std::string::npos) return {};
  const size_t from = at + 10;
  return answer.substr(from, answer.find('"', from) - from);
}

// A first poll of connection 4 answered with message 1: returns the cursor it got.
std::string FirstPoll(Harness& h) {
  h.Accept(4);
  h.Recv(4, "GET /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n\r\n");
  mesh::JoinReply rep = h.JoinAnswer(1, false);
  rep.history.resize(1);
  rep.history[0].seq = 1;
  rep.history[0].json = R"({"seq":1})";
  h.sessions->OnAnswer(rep);
  return CursorOf(h.out.Take(4));
}

TEST(PollSession, FirstPollGetsRecentHistoryAndACursor) {
  Harness h;
  h.Accept(4);
  h.Recv(4, "GET /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.rooms.joins.size(), 1u);
  EXPECT_EQ(h.rooms.joins[0].mode, mesh::JoinMode::kPoll);
  EXPECT_EQ(h.rooms.joins[0].since, kNoSince);
  EXPECT_EQ(h.rooms.joins[0].history, h.cfg.poll_history);
  mesh::JoinReply rep = h.JoinAnswer(1, false);
  rep.history.resize(1);
  rep.history[0].seq = 1;
  rep.history[0].json = R"({"seq":1})";
  h.sessions->OnAnswer(rep);
  const std::string out = h.out.Take(4);
  EXPECT_EQ(out.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(out.find(R"({"messages":[{"seq":1}],"cursor":")"), std::string::npos);
  EXPECT_NE(out.find(R"("epoch":"E1","seq":1})"), std::string::npos);
  EXPECT_FALSE(CursorOf(out).empty());
  EXPECT_FALSE(h.out.conns[4].closed);  // keep-alive
}

TEST(PollSession, CursorResumesParksAndTheNextBatchAnswers) {
  Harness h;
  const std::string cursor = FirstPoll(h);
  ASSERT_FALSE(cursor.empty());
  h.Recv(4, "GET /rooms/lobby/messages?cursor=" + cursor + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.rooms.joins.size(), 2u);
  EXPECT_EQ(h.rooms.joins[1].since, 1u);
  EXPECT_EQ(h.rooms.joins[1].epoch, "E1");
  EXPECT_EQ(h.rooms.joins[1].history, 0u);
  mesh::JoinReply rep = h.JoinAnswer(1, true);  // nothing newer: the owner counts it
  h.sessions->OnAnswer(rep);
  EXPECT_EQ(h.out.Take(4), "");
  EXPECT_EQ(h.sessions->GetStats().parked, 1u);

  h.Forward("lobby", 2, R"({"seq":2})");
  h.Idle(10);
  const std::string out = h.out.Take(4);
  EXPECT_NE(out.find(R"({"messages":[{"seq":2}],"cursor":")"), std::string::npos);
  EXPECT_EQ(h.sessions->GetStats().parked, 0u);
  ASSERT_EQ(h.rooms.leaves.size(), 1u);  // the answered poll is taken off the owner's count
  EXPECT_EQ(h.rooms.leaves[0].count, 1u);
  EXPECT_EQ(h.sessions->GetStats().replicas, 0u);  // nobody is left in the replica
}

TEST(PollSession, ParkedPollIsAnsweredEmptyAtItsDeadline) {
  Harness h;
  const std::string cursor = FirstPoll(h);
  h.Recv(4, "GET /rooms/lobby/messages?cursor=" + cursor + " HTTP/1.1\r\nHost: x\r\n\r\n");
  mesh::JoinReply rep = h.JoinAnswer(1, true);
  h.sessions->OnAnswer(rep);
  h.Idle(h.cfg.poll_hold_ms - 1);
  EXPECT_EQ(h.out.Take(4), "");
  h.Idle(1);
  const std::string out = h.out.Take(4);
  EXPECT_NE(out.find(R"({"messages":[],"cursor":")"), std::string::npos);
  EXPECT_EQ(h.rooms.leaves.size(), 1u);
}

TEST(PollSession, RequestPipelinedBehindAPollWaitsForItsAnswer) {
  Harness h;
  h.Accept(4);
  h.Recv(4,
         "GET /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.out.Take(4), "");
  mesh::JoinReply rep = h.JoinAnswer(0, false);
  h.sessions->OnAnswer(rep);
  const std::string out = h.out.Take(4);
  const size_t poll = out.find(R"({"messages":[])");
  const size_t health = out.find(R"({"status":"ok"})");
  ASSERT_NE(poll, std::string::npos);
  ASSERT_NE(health, std::string::npos);
  EXPECT_LT(poll, health);
}

TEST(PollSession, ForgedCursorIs400) {
  Harness h;
  h.Accept(4);
  h.Recv(4, "GET /rooms/lobby/messages?cursor=AAAA HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string out = h.out.Take(4);
  EXPECT_EQ(out.substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(out.find(R"("error":"bad_cursor")"), std::string::npos);
  EXPECT_TRUE(h.rooms.joins.empty());
}

TEST(PollSession, DrainAnswersAParkedPollWithByeAndCloses) {
  Harness h;
  const std::string cursor = FirstPoll(h);
  h.Recv(4, "GET /rooms/lobby/messages?cursor=" + cursor + " HTTP/1.1\r\nHost: x\r\n\r\n");
  mesh::JoinReply rep = h.JoinAnswer(1, true);
  h.sessions->OnAnswer(rep);
  EXPECT_EQ(h.sessions->Drain(), 1u);
  const std::string out = h.out.Take(4);
  EXPECT_NE(out.find(R"({"type":"bye","reconnect_ms":1000})"), std::string::npos);
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(h.out.conns[4].closed);
}

}  // namespace
}  // namespace roomcast::session
