// The admin handler driven by bytes: the API off without --admin-key, a wrong key refused with
// 401 and a challenge, a right one turned into a publish (or retract) ask answered by the ack.
#include <gtest/gtest.h>

#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::Harness;

constexpr std::string_view kPublish =
    "POST /admin/rooms/lobby/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %KEY%\r\n"
    "Content-Length: 31\r\n\r\n"
    R"({"text":"notice","user":"mod1"})";

std::string WithKey(std::string_view key) {
  std::string r(kPublish);
  r.replace(r.find("%KEY%"), 5, key);
  return r;
}

Config AdminConfig() {
  Config c;
  c.admin_key = "0123456789abcdef0123456789abcdef";
  return c;
}

TEST(AdminSession, OffWithoutAdminKey) {
  Harness h;
  h.Accept(1);
  h.Recv(1, WithKey("whatever"));
  const std::string out = h.out.Take(1);
  EXPECT_EQ(out.substr(0, 22), "HTTP/1.1 403 Forbidden");
  EXPECT_NE(out.find("the admin API is off"), std::string::npos);
  EXPECT_TRUE(h.rooms.publishes.empty());
}

TEST(AdminSession, WrongKeyIs401WithAChallenge) {
  Harness h(AdminConfig());
  h.Accept(1);
  h.Recv(1, WithKey("0123456789abcdef0123456789abcdeX"));
  const std::string out = h.out.Take(1);
  EXPECT_EQ(out.substr(0, 25), "HTTP/1.1 401 Unauthorized");
  EXPECT_NE(out.find("WWW-Authenticate: Bearer realm=\"roomcast-admin\"\r\n"), std::string::npos);
  EXPECT_NE(out.find(R"("error":"unauthorized")"), std::string::npos);
  EXPECT_TRUE(h.rooms.publishes.empty());
  EXPECT_FALSE(h.out.conns[1].closed);  // keep-alive: a refusal is an ordinary answer
}

TEST(AdminSession, RightKeyPublishesAsTheNamedUser) {
  Harness h(AdminConfig());
  h.Accept(1);
  h.Recv(1, WithKey(h.cfg.admin_key));
  ASSERT_EQ(h.rooms.publishes.size(), 1u);
  EXPECT_EQ(h.rooms.publishes[0].user, "mod1");
  EXPECT_EQ(h.rooms.publishes[0].text, "notice");
  mesh::AckReply ack;
  ack.to = h.rooms.publishes[0].to;
  ack.http = true;
  ack.seq = 12;
  ack.id = "m12";
  h.sessions->OnAnswer(ack);
  EXPECT_NE(h.out.Take(1).find(R"({"seq":12,"id":"m12"})"), std::string::npos);
}

TEST(AdminSession, RetractAsksForTheSeq) {
  Harness h(AdminConfig());
  h.Accept(1);
  h.Recv(1, "DELETE /admin/rooms/lobby/messages/5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                h.cfg.admin_key + "\r\n\r\n");
  ASSERT_EQ(h.rooms.retracts.size(), 1u);
  EXPECT_EQ(h.rooms.retracts[0].target, 5u);
  mesh::AckReply ack;
  ack.to = h.rooms.retracts[0].to;
  ack.http = true;
  ack.seq = 13;
  ack.target = 5;
  h.sessions->OnAnswer(ack);
  EXPECT_NE(h.out.Take(1).find(R"({"retracted":5,"seq":13})"), std::string::npos);
}

}  // namespace
}  // namespace roomcast::session
