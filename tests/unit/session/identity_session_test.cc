// Identity at the sessions: a WebSocket upgrade with a bad token is answered 401 before any
// upgrade; a good one names the user, whose name, badges and roles in the room go with its sends;
// an anonymous viewer may not send; ?user= counts only under --dev-auth; {"op":"refresh"}.
#include <gtest/gtest.h>

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

TEST(IdentitySession, ABadTokenIsRefusedWith401BeforeAnyUpgrade) {
  Harness h(Config{}, Keys());
  h.Accept(3);
  h.Recv(3, Upgrade("&token=" + Token("eve").substr(1)));  // a damaged header
  const std::string answer = h.out.Take(3);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 401") << answer;
  EXPECT_NE(answer.find(R"({"error":"unauthorized")"), std::string::npos) << answer;
  EXPECT_TRUE(h.rooms.joins.empty());
  EXPECT_TRUE(h.out.conns[3].closed);
}

TEST(IdentitySession, ATokenNamesTheUserAndItsSendsCarryNameBadgesAndRoles) {
  Harness h(Config{}, Keys());
  const std::string t =
      Token("bob", R"(,"name":"Bob","badges":["og"],"room_roles":{"lobby":["moderator"]})");
  Join(h, 3, Upgrade("&user=mallory", "Authorization: Bearer " + t + "\r\n"));
  h.Recv(3, ClientFrame(0x1, R"({"op":"send","text":"hi","cid":"c1"})"));
  ASSERT_EQ(h.rooms.publishes.size(), 1u);
  const mesh::PublishReq& p = h.rooms.publishes[0];
  EXPECT_EQ(p.user, "bob");
  EXPECT_EQ(p.name, "Bob");
  EXPECT_EQ(p.badges_json, R"(["og"])");
  EXPECT_EQ(p.roles, auth::Bit(auth::Role::kModerator));
}

TEST(IdentitySession, AnAnonymousViewerMayNotSendAndUserIsIgnoredWithoutDevAuth) {
  Harness h(Config{}, Keys());
  Join(h, 3, Upgrade("&user=mallory"));
  h.Recv(3, ClientFrame(0x1, R"({"op":"send","text":"hi"})"));
  EXPECT_TRUE(h.rooms.publishes.empty());
  const std::string out = h.out.Take(3);
  EXPECT_NE(out.find(R"("code":"forbidden")"), std::string::npos) << out;
}

TEST(IdentitySession, RefreshKeepsTheUserAndRefusesAnotherOne) {
  Harness h(Config{}, Keys());
  Join(h, 3, Upgrade("&token=" + Token("bob")));
  h.Recv(3, ClientFrame(0x1, R"({"op":"refresh","token":")" + Token("eve") + R"("})"));
  const std::string first = h.out.Take(3);
  EXPECT_NE(first.find(R"("code":"unauthorized")"), std::string::npos) << first;
  h.Recv(3, ClientFrame(0x1, R"({"op":"refresh","token":")" + Token("bob", "", 900) + R"("})"));
  const std::string out = h.out.Take(3);
  EXPECT_NE(out.find(R"({"type":"ack","op":"refresh","exp":)"), std::string::npos) << out;
  h.Recv(3, ClientFrame(0x1, R"({"op":"refresh"})"));
  EXPECT_NE(h.out.Take(3).find(R"("code":"bad_request")"), std::string::npos);
}

TEST(IdentitySession, ATokenWithoutAnyConfiguredKeyIsRefused) {
  Harness h;  // --dev-auth, no keys
  h.Accept(3);
  h.Recv(3, Upgrade("&token=" + Token("bob")));
  EXPECT_EQ(h.out.Take(3).substr(0, 12), "HTTP/1.1 401");
}

}  // namespace
}  // namespace roomcast::session
