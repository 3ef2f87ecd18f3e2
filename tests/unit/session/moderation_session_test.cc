// Moderation at the sessions: a moderator's WebSocket op becomes a moderate ask carrying the
// actor's roles, anyone else is refused at once; acts and refusals come back as frames (with
// retry_ms and the send's cid); the admin HTTP endpoints become asks by the admin key, and a
// refusal that passes is answered with Retry-After.
#include <gtest/gtest.h>

#include "auth/roles.h"
#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::ClientFrame;
using testing::Harness;
using testing::Join;
using testing::Keys;
using testing::ServerText;
using testing::Token;
using testing::Upgrade;

TEST(ModerationSession, AModeratorsOpIsAskedWithItsRoles) {
  Harness h(Config{}, Keys());
  ASSERT_EQ(
      Join(h, 3, Upgrade("&token=" + Token("mia", R"(,"room_roles":{"lobby":["moderator"]})"))),
      "HTTP/1.1 101");
  h.Recv(3, ClientFrame(0x1, R"({"op":"ban","user":"troll","secs":60,"reason":"spam"})"));
  ASSERT_EQ(h.rooms.moderates.size(), 1u);
  const mesh::ModerateReq& m = h.rooms.moderates[0];
  EXPECT_EQ(m.room, "lobby");
  EXPECT_EQ(m.actor, "mia");
  EXPECT_TRUE(auth::CanModerate(m.actor_roles));
  EXPECT_FALSE(m.by_admin_key);
  EXPECT_EQ(m.op.action, chat::ModAction::kBan);
  EXPECT_EQ(m.op.user, "troll");
  EXPECT_EQ(m.op.secs, 60u);

  mesh::AckReply ack;
  ack.to = m.to;
  ack.op = "ban";
  h.sessions->OnAnswer(ack);
  EXPECT_EQ(h.out.Take(3), ServerText(R"({"type":"ack","op":"ban"})"));
}

TEST(ModerationSession, OthersAreRefusedWithoutAnAsk) {
  Harness h(Config{}, Keys());
  ASSERT_EQ(Join(h, 3, Upgrade("&token=" + Token("ulla", R"(,"roles":["vip"])"))), "HTTP/1.1 101");
  h.Recv(3, ClientFrame(0x1, R"({"op":"mode","slow_secs":5})"));
  EXPECT_TRUE(h.rooms.moderates.empty());
  EXPECT_NE(h.out.Take(3).find(R"("code":"forbidden")"), std::string::npos);
  Join(h, 4, Upgrade(""));  // anonymous
  h.Recv(4, ClientFrame(0x1, R"({"op":"clear"})"));
  EXPECT_TRUE(h.rooms.moderates.empty());
  EXPECT_NE(h.out.Take(4).find(R"("code":"forbidden")"), std::string::npos);
}

TEST(ModerationSession, ARefusedSendIsAnErrorWithRetryMsAndItsCid) {
  Harness h(Config{}, Keys());
  ASSERT_EQ(Join(h, 3, Upgrade("&token=" + Token("ulla"))), "HTTP/1.1 101");
  h.Recv(3, ClientFrame(0x1, R"({"op":"send","text":"hi","cid":"c9"})"));
  mesh::AckReply ack;
  ack.to = h.rooms.publishes.at(0).to;
  ack.cid = "c9";
  ack.refusal = chat::Refusal::kSlowMode;
  ack.retry_ms = 4200;
  h.sessions->OnAnswer(ack);
  EXPECT_EQ(h.out.Take(3),
            ServerText(R"({"type":"error","code":"slow_mode","message":"slow mode: wait before )"
                       R"(sending again","retry_ms":4200,"cid":"c9"})"));
}

TEST(ModerationSession, AShadowEchoReachesTheUsersOwnViewersOnly) {
  Harness h(Config{}, Keys());
  ASSERT_EQ(Join(h, 3, Upgrade("&token=" + Token("shade"))), "HTTP/1.1 101");
  ASSERT_EQ(Join(h, 4, Upgrade("&token=" + Token("anna"))), "HTTP/1.1 101");
  ASSERT_EQ(Join(h, 5, Upgrade("&token=" + Token("shade"))), "HTTP/1.1 101");  // another tab
  h.sessions->OnShadowEcho(mesh::ShadowEcho{"lobby", "shade", R"({"type":"msg","seq":5})"});
  EXPECT_EQ(h.out.Take(3), ServerText(R"({"type":"msg","seq":5})"));
  EXPECT_EQ(h.out.Take(5), ServerText(R"({"type":"msg","seq":5})"));
  EXPECT_EQ(h.out.Take(4), "");
}

TEST(ModerationSession, ASampledOutMessageReachesItsSenderAndMentionedUsersOnly) {
  Harness h(Config{}, Keys());
  ASSERT_EQ(Join(h, 3, Upgrade("&token=" + Token("sam"))), "HTTP/1.1 101");
  ASSERT_EQ(Join(h, 4, Upgrade("&token=" + Token("anna"))), "HTTP/1.1 101");
  ASSERT_EQ(Join(h, 5, Upgrade("&token=" + Token("vic"))), "HTTP/1.1 101");
  h.Forward("lobby", 6, R"({"type":"msg","seq":6})");
  mesh::ForwardMsg f{"lobby", room::SequencedMsg{}, {room::UserTag("sam"), room::UserTag("vic")}};
  f.msg.seq = 7;
  f.msg.json = R"({"type":"msg","seq":7,"text":"@vic"})";
  f.msg.flags = room::kEvSampled;
  h.sessions->OnForward(f);
  h.Forward("lobby", 8, R"({"type":"msg","seq":8})");
  h.Idle(1000);
  const std::string shown =
      ServerText(R"({"type":"msg","seq":6})") + ServerText(R"({"type":"msg","seq":8})");
  const std::string own = ServerText(R"({"type":"msg","seq":7,"text":"@vic"})");
  EXPECT_EQ(h.out.Take(3), shown + own);  // the sample, then what it alone gets
  EXPECT_EQ(h.out.Take(5), shown + own);
  EXPECT_EQ(h.out.Take(4), shown);
  // The marker goes to every stream viewer.
  const std::string marker = R"({"type":"sampled","room":"lobby","shown":2,"total":3})";
  h.sessions->OnRoomEvent(mesh::RoomEvent{"lobby", "sampled", marker});
  for (ConnId c : {3u, 4u, 5u}) EXPECT_EQ(h.out.Take(c), ServerText(marker)) << c;
}

constexpr std::string_view kKey = "0123456789abcdef0123456789abcdef";

std::string AdminRequest(std::string_view method, std::string_view path, std::string_view body) {
  return std::string(method) + " /admin/rooms/lobby/" + std::string(path) +
         " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kKey) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

Config AdminConfig() {
  Config c;
  c.admin_key = kKey;
  return c;
}

TEST(ModerationSession, AdminEndpointsBecomeAsksByTheKey) {
  Harness h(AdminConfig());
  h.Accept(1);
  h.Recv(1, AdminRequest("POST", "bans", R"({"user":"eve","shadow":true})"));
  ASSERT_EQ(h.rooms.moderates.size(), 1u);
  EXPECT_TRUE(h.rooms.moderates[0].by_admin_key);
  EXPECT_EQ(h.rooms.moderates[0].actor, "admin");
  EXPECT_TRUE(h.rooms.moderates[0].op.shadow);
  mesh::AckReply ack;
  ack.to = h.rooms.moderates[0].to;
  ack.http = true;
  ack.op = "ban";
  h.sessions->OnAnswer(ack);
  const std::string out = h.out.Take(1);
  EXPECT_EQ(out.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(out.find(R"({"op":"ban"})"), std::string::npos);

  h.Recv(1, AdminRequest("DELETE", "bans/eve", ""));
  ASSERT_EQ(h.rooms.moderates.size(), 2u);
  EXPECT_EQ(h.rooms.moderates[1].op.action, chat::ModAction::kUnban);
  EXPECT_EQ(h.rooms.moderates[1].op.user, "eve");
  mesh::AckReply refused;
  refused.to = h.rooms.moderates[1].to;
  refused.http = true;
  refused.op = "unban";
  refused.refusal = chat::Refusal::kTooManyActs;
  refused.retry_ms = 1500;
  h.sessions->OnAnswer(refused);
  const std::string r = h.out.Take(1);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 429");
  EXPECT_NE(r.find("Retry-After: 2\r\n"), std::string::npos);
  EXPECT_NE(r.find(R"("retry_ms":1500)"), std::string::npos);

  h.Recv(1, AdminRequest("GET", "audit?limit=7", ""));
  ASSERT_EQ(h.rooms.moderates.size(), 3u);
  EXPECT_EQ(h.rooms.moderates[2].op.action, chat::ModAction::kAudit);
  EXPECT_EQ(h.rooms.moderates[2].op.limit, 7u);
}

TEST(ModerationSession, AdminBadInputIsAnsweredWithoutAnAsk) {
  Harness h(AdminConfig());
  struct Case {
    std::string_view method, path, body, status;
  };
  for (const Case& c : {Case{"PUT", "bans", "", "405"}, Case{"POST", "bans", "{}", "400"},
                        Case{"POST", "modes", "{}", "400"}, Case{"GET", "audit?limit=0", "", "400"},
                        Case{"DELETE", "bans/a%20b", "", "400"}, Case{"POST", "nothing", "", "404"},
                        Case{"DELETE", "bans/", "", "404"}}) {
    h.Accept(1);
    h.Recv(1, AdminRequest(c.method, c.path, c.body));
    EXPECT_EQ(h.out.Take(1).substr(9, 3), c.status) << c.method << " " << c.path;
    h.Closed(1);
  }
  EXPECT_TRUE(h.rooms.moderates.empty());
}

TEST(ModerationSession, ATermListIsCompiledHereAndABadOneIsRefusedNamingThePattern) {
  Harness h(AdminConfig());
  h.Accept(1);
  h.Recv(1, AdminRequest("PUT", "terms",
                         R"({"terms":[{"pattern":"darn*","action":"mask"}],)"
                         R"("regex":[{"pattern":"free\\s+money"}]})"));
  ASSERT_EQ(h.rooms.moderates.size(), 1u);
  const chat::ModOp& op = h.rooms.moderates[0].op;
  EXPECT_EQ(op.action, chat::ModAction::kTerms);
  ASSERT_EQ(op.rules.size(), 2u);
  ASSERT_TRUE(op.compiled);
  EXPECT_FALSE(op.compiled->Empty());
  h.Closed(1);
  h.Accept(2);
  h.Recv(2, AdminRequest("PUT", "terms", R"({"regex":[{"pattern":"(open"}]})"));
  const std::string out = h.out.Take(2);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 400");
  EXPECT_NE(out.find("(open"), std::string::npos) << out;
  EXPECT_EQ(h.rooms.moderates.size(), 1u);
}

}  // namespace
}  // namespace roomcast::session
