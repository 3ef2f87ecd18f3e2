// The WebSocket handler driven by bytes: an upgrade request in -> the 101 answer, the join ask,
// and after the fake owner's answer the welcome frame; a text frame with a send op -> a publish
// ask, its ack -> the ack frame; control frames and protocol errors -> the close frames.
#include <gtest/gtest.h>

#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::ClientFrame;
using testing::Harness;
using testing::ServerText;

constexpr std::string_view kUpgrade =
    "GET /ws?room=lobby&user=alice&history=5 HTTP/1.1\r\n"
    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

constexpr std::string_view kWelcome =
    R"({"type":"welcome","room":"lobby","epoch":"E1","seq":5,"online":1,)"
    R"("modes":{"slow_secs":0,"subscribers_only":false,"emote_only":false,"unique":false},"user":"alice"})";

// Upgrades connection 3 and answers its join at head 5.
void Joined(Harness& h) {
  h.Accept(3);
  h.Recv(3, kUpgrade);
  h.out.Take(3);
  mesh::JoinReply rep = h.JoinAnswer(5);
  h.sessions->OnAnswer(rep);
  h.out.Take(3);
}

TEST(WsSession, UpgradeAnswers101AndAsksToJoinThenWelcomes) {
  Harness h;
  h.Accept(3);
  h.Recv(3, kUpgrade);
  EXPECT_EQ(h.out.Take(3),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  ASSERT_EQ(h.rooms.joins.size(), 1u);
  EXPECT_EQ(h.rooms.joins[0].room, "lobby");
  EXPECT_EQ(h.rooms.joins[0].mode, mesh::JoinMode::kWs);
  EXPECT_EQ(h.rooms.joins[0].history, 5u);
  EXPECT_EQ(h.rooms.joins[0].since, kNoSince);
  EXPECT_EQ(h.rooms.joins[0].to.conn, 3u);

  mesh::JoinReply rep = h.JoinAnswer(5);
  h.sessions->OnAnswer(rep);
  EXPECT_EQ(h.out.Take(3), ServerText(kWelcome));
  EXPECT_EQ(h.sessions->GetStats().ws_viewers, 1u);
}

TEST(WsSession, SendOpIsPublishedAndItsAckIsAFrame) {
  Harness h;
  Joined(h);
  h.Recv(3, ClientFrame(0x1, R"({"op":"send","text":"hi","cid":"c1"})"));
  ASSERT_EQ(h.rooms.publishes.size(), 1u);
  const mesh::PublishReq& p = h.rooms.publishes[0];
  EXPECT_EQ(p.room, "lobby");
  EXPECT_EQ(p.user, "alice");
  EXPECT_EQ(p.text, "hi");
  EXPECT_EQ(p.cid, "c1");
  EXPECT_FALSE(p.http);
  EXPECT_EQ(h.out.Take(3), "");  // nothing until the owner answers

  mesh::AckReply ack;
  ack.to = p.to;
  ack.seq = 6;
  ack.id = "m6";
  ack.cid = "c1";
  h.sessions->OnAnswer(ack);
  EXPECT_EQ(h.out.Take(3), ServerText(R"({"type":"ack","cid":"c1","seq":6,"id":"m6"})"));
}

TEST(WsSession, AckForAnEarlierConnectionInTheSlotIsDropped) {
  Harness h;
  Joined(h);
  h.Recv(3, ClientFrame(0x1, R"({"op":"send","text":"hi"})"));
  mesh::AckReply ack;
  ack.to = h.rooms.publishes[0].to;
  h.Closed(3);
  h.Accept(3);  // a new connection in the same slot: another generation
  h.sessions->OnAnswer(ack);
  EXPECT_EQ(h.out.Take(3), "");
}

TEST(WsSession, ForwardedMessagesArriveAsOneBatchAfterTheWelcome) {
  Harness h;
  Joined(h);
  h.Forward("lobby", 6, R"({"type":"msg","seq":6})");
  h.Forward("lobby", 7, R"({"type":"msg","seq":7})");
  EXPECT_EQ(h.out.Take(3), "");  // batched: nothing before the flush
  h.Idle(10);
  EXPECT_EQ(h.out.Take(3),
            ServerText(R"({"type":"msg","seq":6})") + ServerText(R"({"type":"msg","seq":7})"));
}

TEST(WsSession, PingIsPongedAndCloseIsEchoed) {
  Harness h;
  Joined(h);
  h.Recv(3, ClientFrame(0x9, "abc"));
  EXPECT_EQ(h.out.Take(3), std::string("\x8a\x03"
                                       "abc",
                                       5));
  h.Recv(3, ClientFrame(0x8, std::string("\x03\xe8", 2)));
  EXPECT_EQ(h.out.Take(3), std::string("\x88\x02\x03\xe8", 4));
  EXPECT_TRUE(h.out.conns[3].closed);
  EXPECT_FALSE(h.out.conns[3].aborted);
}

TEST(WsSession, UnknownOpIsAnErrorFrameAndBinaryCloses1003) {
  Harness h;
  Joined(h);
  h.Recv(3, ClientFrame(0x1, R"({"op":"dance"})"));
  EXPECT_EQ(h.out.Take(3),
            ServerText(R"({"type":"error","code":"bad_request","message":"unknown op 'dance'"})"));
  h.Recv(3, ClientFrame(0x2, "x"));
  const std::string reason = "binary messages are not supported";
  EXPECT_EQ(h.out.Take(3), std::string("\x88") + static_cast<char>(2 + reason.size()) +
                               std::string("\x03\xeb", 2) + reason);
  EXPECT_TRUE(h.out.conns[3].closed);
}

TEST(WsSession, InvalidUtf8Closes1007) {
  Harness h;
  Joined(h);
  h.Recv(3, ClientFrame(0x1, "\xff"));
  const std::string out = h.out.Take(3);
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out.substr(0, 1), "\x88");
  EXPECT_EQ(out.substr(2, 2), std::string("\x03\xef", 2));
}

TEST(WsSession, UpgradeWithoutRoomIs400AndCloses) {
  Harness h;
  h.Accept(1);
  h.Recv(1,
         "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  const std::string out = h.out.Take(1);
  EXPECT_EQ(out.substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(out.find("room must be 1..64 bytes"), std::string::npos);
  EXPECT_TRUE(h.out.conns[1].closed);
  EXPECT_TRUE(h.rooms.joins.empty());
}

TEST(WsSession, ViewerThatLeavesBeforeTheAnswerUndoesTheOwnersCount) {
  Harness h;
  h.Accept(3);
  h.Recv(3, kUpgrade);
  mesh::JoinReply rep = h.JoinAnswer(5);
  h.Closed(3);
  h.sessions->OnAnswer(rep);
  ASSERT_EQ(h.rooms.leaves.size(), 1u);
  EXPECT_EQ(h.rooms.leaves[0].room, "lobby");
  EXPECT_EQ(h.sessions->GetStats().replicas, 0u);
  EXPECT_EQ(h.out.writes_after_close, 0u);  // no welcome for a viewer that is gone
}

TEST(WsSession, RefusedJoinIsAnErrorThenClose1011) {
  Harness h;
  h.Accept(3);
  h.Recv(3, kUpgrade);
  h.out.Take(3);
  mesh::JoinReply rep = h.JoinAnswer(0, false);
  rep.refusal = chat::Refusal::kTooManyRooms;
  h.sessions->OnAnswer(rep);
  const std::string out = h.out.Take(3);
  EXPECT_NE(out.find(R"("code":"unavailable")"), std::string::npos);
  EXPECT_NE(out.find("room unavailable"), std::string::npos);
  EXPECT_TRUE(h.out.conns[3].closed);
}

}  // namespace
}  // namespace roomcast::session

namespace roomcast::session {
namespace {

TEST(WsSession, ReactIsAskedOfTheOwnerAndItsRefusalIsAnErrorFrame) {
  Harness h;
  Joined(h);
  h.Recv(3, ClientFrame(0x1, R"({"op":"react","emoji":":pog:"})"));
  ASSERT_EQ(h.rooms.reacts.size(), 1u);
  const mesh::ReactReq r = h.rooms.reacts[0];
  EXPECT_EQ(r.room, "lobby");
  EXPECT_EQ(r.reactor, "alice");
  EXPECT_EQ(r.emote, ":pog:");
  EXPECT_EQ(h.out.Take(3), "");  // a counted reaction is not answered

  mesh::AckReply ack;
  ack.to = r.to;
  ack.op = "react";
  ack.refusal = chat::Refusal::kRateLimited;
  ack.retry_ms = 250;
  h.sessions->OnAnswer(ack);
  const std::string err = h.out.Take(3);
  EXPECT_NE(err.find(R"("code":"rate_limited")"), std::string::npos) << err;
  EXPECT_NE(err.find(R"("retry_ms":250)"), std::string::npos) << err;

  // Not an emote: refused here, never asked.
  h.Recv(3, ClientFrame(0x1, R"({"op":"react","emoji":"hello"})"));
  EXPECT_EQ(h.rooms.reacts.size(), 1u);
  EXPECT_NE(h.out.Take(3).find(R"("code":"bad_request")"), std::string::npos);
}

TEST(WsSession, RoomEventsReachTheRoomsViewersUnsequenced) {
  Harness h;
  Joined(h);
  const std::string json = R"({"type":"reactions","room":"lobby","window_ms":1000,"counts":{}})";
  h.sessions->OnRoomEvent(mesh::RoomEvent{"lobby", "reactions", json});
  EXPECT_EQ(h.out.Take(3), ServerText(json));
  h.sessions->OnRoomEvent(mesh::RoomEvent{"elsewhere", "state", R"({"type":"state"})"});
  EXPECT_EQ(h.out.Take(3), "");
}

TEST(WsSession, PresenceStateSkipsViewersToldThatCountAlready) {
  Harness h;
  Joined(h);  // its welcome said online 1
  h.sessions->OnRoomEvent(mesh::RoomEvent{"lobby", "state", R"({"online":1})", 1});
  EXPECT_EQ(h.out.Take(3), "");
  h.sessions->OnRoomEvent(mesh::RoomEvent{"lobby", "state", R"({"online":2})", 2});
  EXPECT_EQ(h.out.Take(3), ServerText(R"({"online":2})"));
  h.sessions->OnRoomEvent(mesh::RoomEvent{"lobby", "state", R"({"online":2})", 2});
  EXPECT_EQ(h.out.Take(3), "");
}

}  // namespace
}  // namespace roomcast::session
