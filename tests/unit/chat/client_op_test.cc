#include "chat/client_op.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::chat {
namespace {

class ClientOpTest : public ::testing::Test {
 protected:
  OpError Ws(std::string_view json) { return parser_.ParseWsOp(json, limits_, &op_); }
  OpError Http(std::string_view json) { return parser_.ParseHttpSend(json, limits_, &op_); }

  ClientOpParser parser_;
  TextLimits limits_;
  ClientOp op_;
};

// An AssertionResult rather than EXPECTs inside a helper, so a failure names the caller's line.
::testing::AssertionResult HasCode(const OpError& e, std::string_view code) {
  if (e.code != code) {
    return ::testing::AssertionFailure()
           << "code \"" << e.code << "\" (" << e.message << "), want \"" << code << "\"";
  }
  if (!code.empty() && e.message.empty()) {
    return ::testing::AssertionFailure() << "error without a message";
  }
  return ::testing::AssertionSuccess();
}

#define EXPECT_CODE(call, code) EXPECT_TRUE(HasCode((call), (code)))

TEST_F(ClientOpTest, SendWithTextAndCid) {
  EXPECT_CODE(Ws(R"({"op":"send","text":"hi there","cid":"c-7f3a"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kSend);
  EXPECT_EQ(op_.op_name, "send");
  EXPECT_EQ(op_.text, "hi there");
  EXPECT_EQ(op_.cid, "c-7f3a");
}

TEST_F(ClientOpTest, SendUnescapesTextAndAllowsNewline) {
  EXPECT_CODE(
      Ws(R"({"cid":"a.b:c_d-1","text":"line\nnext \"q\" \u00e9 \ud83d\ude00","op":"send"})"), "");
  EXPECT_EQ(op_.text, "line\nnext \"q\" \xc3\xa9 \xf0\x9f\x98\x80");
}

TEST_F(ClientOpTest, CidIsOptional) {
  EXPECT_CODE(Ws(R"({"op":"send","text":"x"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kSend);
  EXPECT_TRUE(op_.cid.empty());
}

TEST_F(ClientOpTest, BadText) {
  EXPECT_CODE(Ws(R"({"op":"send"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":""})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":42})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":null})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":["a"]})"), "bad_request");
  EXPECT_NE(op_.kind, OpKind::kSend);
}

TEST_F(ClientOpTest, ControlCharactersInTextAreRejected) {
  EXPECT_CODE(Ws(R"({"op":"send","text":"tab\there"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"cr\r"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"nul\u0000"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"esc\u001b[2J"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"del\u007f"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"c1\u0085"})"), "bad_request");
  EXPECT_CODE(Ws("{\"op\":\"send\",\"text\":\"raw c1 \xc2\x9f\"}"), "bad_request");
}

TEST_F(ClientOpTest, TextLengthIsCountedInCodePoints) {
  limits_.max_code_points = 5;
  EXPECT_CODE(Ws(R"({"op":"send","text":"12345"})"), "");
  EXPECT_CODE(Ws(R"({"op":"send","text":"123456"})"), "too_large");
  // Five 4-byte emoji are 20 bytes but only 5 code points.
  EXPECT_CODE(Ws("{\"op\":\"send\",\"text\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                 "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"}"),
              "");
  EXPECT_EQ(op_.text.size(), 20u);
}

TEST_F(ClientOpTest, DefaultLimitIs500CodePoints) {
  const std::string ok = R"({"op":"send","text":")" + std::string(500, 'a') + R"("})";
  EXPECT_CODE(Ws(ok), "");
  const std::string big = R"({"op":"send","text":")" + std::string(501, 'a') + R"("})";
  EXPECT_CODE(Ws(big), "too_large");
  const std::string huge = R"({"op":"send","text":")" + std::string(100000, 'a') + R"("})";
  EXPECT_CODE(Ws(huge), "too_large");
}

TEST_F(ClientOpTest, InvalidCid) {
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":""})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":"has space"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":"slash/"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":"\u00e9"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":7})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":")" + std::string(65, 'c') + R"("})"),
              "bad_request");
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":")" + std::string(64, 'c') + R"("})"), "");
  limits_.max_cid_bytes = 8;
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","cid":"123456789"})"), "bad_request");
}

TEST_F(ClientOpTest, PingAndModeratorOps) {
  EXPECT_CODE(Ws(R"({"op":"ping"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kPing);
  EXPECT_CODE(Ws(R"({"op":"delete","seq":12,"reason":"spam"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kModerate);
  EXPECT_EQ(op_.mod.action, ModAction::kDelete);
  EXPECT_EQ(op_.mod.seq, 12u);
  EXPECT_EQ(op_.mod.reason, "spam");
  EXPECT_CODE(Ws(R"({"op":"ban","user":"u","secs":60,"shadow":true})"), "");
  EXPECT_EQ(op_.mod.action, ModAction::kBan);
  EXPECT_EQ(op_.mod.user, "u");
  EXPECT_EQ(op_.mod.secs, 60u);
  EXPECT_TRUE(op_.mod.shadow);
  EXPECT_CODE(Ws(R"({"op":"mode","slow_secs":5,"unique":true})"), "");
  EXPECT_EQ(op_.mod.action, ModAction::kMode);
  EXPECT_EQ(op_.mod.modes.slow_secs, 5u);
  EXPECT_EQ(op_.mod.modes.unique, true);
  EXPECT_FALSE(op_.mod.modes.emote_only.has_value());
  EXPECT_CODE(Ws(R"({"op":"unban","user":"u"})"), "");
  EXPECT_EQ(op_.mod.action, ModAction::kUnban);
  EXPECT_CODE(Ws(R"({"op":"clear"})"), "");
  EXPECT_EQ(op_.mod.action, ModAction::kClear);
  EXPECT_TRUE(op_.mod.user.empty());
}

TEST_F(ClientOpTest, ModeratorOpsRefuseBadFields) {
  for (const char* bad : {
           R"({"op":"ban"})",                            // no user
           R"({"op":"ban","user":"a b"})",               // not a user id
           R"({"op":"ban","user":"u","secs":1209601})",  // over two weeks
           R"({"op":"ban","user":"u","secs":-1})",       // negative
           R"({"op":"ban","user":"u","secs":"60"})",     // a string
           R"({"op":"ban","user":"u","shadow":1})",      // not a bool
           R"({"op":"mode"})",                           // nothing to change
           R"({"op":"mode","slow_secs":86401})",         // over a day
           R"({"op":"mode","emote_only":"yes"})",        // not a bool
           R"({"op":"delete"})",                         // no seq
           R"({"op":"delete","seq":0})",                 // seq from 1
           R"({"op":"unban"})",                          // no user
           R"({"op":"clear","user":""})",                // empty user
       }) {
    EXPECT_CODE(Ws(bad), "bad_request") << bad;
  }
  EXPECT_CODE(Ws(R"({"op":"ban","user":"u","reason":")" + std::string(201, 'r') + R"("})"),
              "bad_request");
}

TEST_F(ClientOpTest, React) {
  EXPECT_CODE(Ws(R"({"op":"react","emoji":"\ud83d\udc4d"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kReact);
  EXPECT_EQ(op_.emoji, "\xf0\x9f\x91\x8d");
  EXPECT_CODE(Ws(R"({"op":"react","emoji":")" + std::string(32, 'e') + R"("})"), "");
  EXPECT_CODE(Ws(R"({"op":"react","emoji":")" + std::string(33, 'e') + R"("})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"react","emoji":""})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"react"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"react","emoji":1})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":"react","emoji":"\t"})"), "bad_request");
}

TEST_F(ClientOpTest, UnknownOpIsNotAnError) {
  EXPECT_CODE(Ws(R"({"op":"dance","steps":3})"), "");
  EXPECT_EQ(op_.kind, OpKind::kUnknown);
  EXPECT_EQ(op_.op_name, "dance");
}

TEST_F(ClientOpTest, MissingOrNonStringOp) {
  EXPECT_CODE(Ws(R"({"text":"hi"})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":1})"), "bad_request");
  EXPECT_CODE(Ws(R"({"op":null})"), "bad_request");
  EXPECT_CODE(Ws(R"({})"), "bad_request");
}

TEST_F(ClientOpTest, NotAnObjectOrNotJson) {
  for (std::string_view bad :
       {"", " ", "[]", "\"send\"", "42", "null", "{", "{\"op\":\"ping\"", "{\"op\":\"ping\"}}",
        "{op:\"ping\"}", "{\"op\":'ping'}", "{\"op\":\"ping\",}"}) {
    SCOPED_TRACE(bad);
    EXPECT_CODE(Ws(bad), "bad_request");
    EXPECT_EQ(op_.kind, OpKind::kUnknown);
  }
  EXPECT_CODE(Ws("\xff{}"), "bad_request");
}

TEST_F(ClientOpTest, ResultIsResetBetweenCalls) {
  EXPECT_CODE(Ws(R"({"op":"send","text":"first","cid":"c1"})"), "");
  EXPECT_CODE(Ws(R"({"op":"ping"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kPing);
  EXPECT_TRUE(op_.text.empty());
  EXPECT_TRUE(op_.cid.empty());
  // A shorter document after a longer one: stale bytes in the reused buffer must not matter.
  EXPECT_CODE(Ws(R"({"op":"send","text":")" + std::string(400, 'z') + R"("})"), "");
  EXPECT_CODE(Ws(R"({"op":"ping"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kPing);
}

TEST_F(ClientOpTest, HttpSend) {
  EXPECT_CODE(Http(R"({"text":"hello","cid":"web-1"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kSend);
  EXPECT_EQ(op_.text, "hello");
  EXPECT_EQ(op_.cid, "web-1");
  EXPECT_CODE(Http(R"({"text":"no cid"})"), "");
  EXPECT_TRUE(op_.cid.empty());
  // "op" is neither needed nor interpreted.
  EXPECT_CODE(Http(R"({"op":"ban","text":"x"})"), "");
  EXPECT_EQ(op_.kind, OpKind::kSend);
}

TEST_F(ClientOpTest, HttpSendRules) {
  EXPECT_CODE(Http(R"({"cid":"x"})"), "bad_request");
  EXPECT_CODE(Http(R"({"text":""})"), "bad_request");
  EXPECT_CODE(Http(R"({"text":5})"), "bad_request");
  EXPECT_CODE(Http(R"({"text":"a\tb"})"), "bad_request");
  EXPECT_CODE(Http(R"({"text":"x","cid":"bad cid"})"), "bad_request");
  EXPECT_CODE(Http(R"(["text"])"), "bad_request");
  EXPECT_CODE(Http("not json"), "bad_request");
  EXPECT_CODE(Http(R"({"text":")" + std::string(501, 'a') + R"("})"), "too_large");
}

TEST_F(ClientOpTest, HttpSendRejectsInvalidUtf8) {
  // Raw invalid bytes and a lone surrogate escape: neither may reach the room as text.
  EXPECT_CODE(Http("{\"text\":\"bad \xc0\xaf\"}"), "bad_request");
  EXPECT_CODE(Http("{\"text\":\"cut \xe2\x82\"}"), "bad_request");
  EXPECT_CODE(Http(R"({"text":"lone \udc00"})"), "bad_request");
  EXPECT_CODE(Http(R"({"text":"lone \ud800 x"})"), "bad_request");
  EXPECT_NE(op_.kind, OpKind::kSend);
}

TEST(IdRulesTest, RoomIds) {
  EXPECT_TRUE(IsValidRoomId("r1"));
  EXPECT_TRUE(IsValidRoomId("Lobby_2.eu:west-1"));
  EXPECT_TRUE(IsValidRoomId(std::string(64, 'r')));
  EXPECT_FALSE(IsValidRoomId(""));
  EXPECT_FALSE(IsValidRoomId(std::string(65, 'r')));
  EXPECT_FALSE(IsValidRoomId("a b"));
  EXPECT_FALSE(IsValidRoomId("a/b"));
  EXPECT_FALSE(IsValidRoomId("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidRoomId("r?x=1"));
}

TEST_F(ClientOpTest, ClientSendWithPrioIsForbidden) {
  EXPECT_CODE(Ws(R"({"op":"send","text":"x","prio":1})"), "forbidden");
  EXPECT_NE(op_.kind, OpKind::kSend);
}

TEST_F(ClientOpTest, AdminPublishFields) {
  auto admin = [&](std::string_view j) { return parser_.ParseAdminPublish(j, limits_, &op_); };
  EXPECT_CODE(admin(R"({"text":"rose x10","prio":true,"kind":"gift","user":"bob","cid":"g-1"})"),
              "");
  EXPECT_TRUE(op_.prio);
  EXPECT_EQ(op_.kind, OpKind::kSend);
  EXPECT_EQ(op_.user, "bob");
  EXPECT_EQ(op_.cid, "g-1");
  EXPECT_CODE(admin(R"({"text":"notice","prio":1})"), "");
  EXPECT_TRUE(op_.prio);
  EXPECT_EQ(op_.user, "system") << "the default sender";
  EXPECT_CODE(admin(R"({"text":"plain"})"), "");
  EXPECT_FALSE(op_.prio);
  EXPECT_CODE(admin(R"({"text":"x","prio":2})"), "bad_request");
  EXPECT_CODE(admin(R"({"text":"x","prio":"yes"})"), "bad_request");
  EXPECT_CODE(admin(R"({"text":"x","kind":"Gift!"})"), "bad_request");
  EXPECT_CODE(admin(R"({"text":"x","kind":7})"), "bad_request");
  EXPECT_CODE(admin(R"({"text":"x","user":"a b"})"), "bad_request");
  EXPECT_CODE(admin(R"({"prio":1})"), "bad_request") << "text is required";
}

TEST_F(ClientOpTest, RetractBody) {
  RetractBody b;
  EXPECT_CODE(parser_.ParseRetract("", &b), "");
  EXPECT_EQ(b.by, "admin");
  EXPECT_TRUE(b.reason.empty());
  EXPECT_CODE(parser_.ParseRetract(R"({"reason":"spam \u00e9","by":"mod-7"})", &b), "");
  EXPECT_EQ(b.reason, "spam \xc3\xa9");
  EXPECT_EQ(b.by, "mod-7");
  EXPECT_CODE(parser_.ParseRetract(R"({"reason":"a\u0001"})", &b), "bad_request");
  EXPECT_CODE(parser_.ParseRetract("{\"reason\":\"" + std::string(201, 'x') + "\"}", &b),
              "bad_request");
  EXPECT_CODE(parser_.ParseRetract(R"({"by":"x y"})", &b), "bad_request");
  EXPECT_CODE(parser_.ParseRetract("[1]", &b), "bad_request");
}

TEST(IdRulesTest, UserNames) {
  EXPECT_TRUE(IsValidUserName("alice"));
  EXPECT_TRUE(IsValidUserName("bob.smith-2"));
  EXPECT_FALSE(IsValidUserName(""));
  EXPECT_FALSE(IsValidUserName(std::string(65, 'u')));
  EXPECT_FALSE(IsValidUserName("eve@example"));
}

}  // namespace
}  // namespace roomcast::chat
