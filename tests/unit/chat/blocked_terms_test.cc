#include "chat/blocked_terms.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roomcast::chat {
namespace {

std::shared_ptr<const TermSet> Set(std::vector<TermRule> rules) {
  std::string err;
  auto set = TermSet::Compile(std::move(rules), &err);
  EXPECT_TRUE(set) << err;
  return set;
}

TermRule Term(std::string p, TermAction a = TermAction::kReject) {
  return {std::move(p), a, false};
}
TermRule Regex(std::string p, TermAction a = TermAction::kReject) {
  return {std::move(p), a, true};
}

TEST(BlockedTerms, WholeWordsCaseInsensitiveByDefault) {
  auto set = Set({Term("bad")});
  TermScratch s;
  EXPECT_TRUE(s.Scan(*set, "this is BAD.").matched);
  EXPECT_TRUE(s.Scan(*set, "bad").matched);
  EXPECT_FALSE(s.Scan(*set, "badly done").matched);
  EXPECT_FALSE(s.Scan(*set, "a sinbad story").matched);
  EXPECT_FALSE(s.Scan(*set, "").matched);
}

TEST(BlockedTerms, StarsOpenAWordAtThatEnd) {
  auto prefix = Set({Term("bad*")});
  auto suffix = Set({Term("*bad")});
  auto anywhere = Set({Term("*bad*")});
  TermScratch s;
  EXPECT_TRUE(s.Scan(*prefix, "badly").matched);
  EXPECT_FALSE(s.Scan(*prefix, "sinbad").matched);
  EXPECT_TRUE(s.Scan(*suffix, "Sinbad").matched);
  EXPECT_FALSE(s.Scan(*suffix, "badly").matched);
  EXPECT_TRUE(s.Scan(*anywhere, "xxbadxx").matched);
  EXPECT_FALSE(s.Scan(*anywhere, "b a d").matched);
}

TEST(BlockedTerms, MaskCoversTheWholeWordCodePointByCodePoint) {
  auto set = Set({Term("darn*", TermAction::kMask), Term("héllo", TermAction::kMask)});
  TermScratch s;
  TermVerdict v = s.Scan(*set, "oh Darnit, HÉLLO and darn!");
  ASSERT_TRUE(v.matched);
  EXPECT_EQ(v.action, TermAction::kMask);
  EXPECT_EQ(v.masked, "oh ******, ***** and ****!");
}

TEST(BlockedTerms, TheMostSevereActionDecides) {
  auto set = Set({Term("meh", TermAction::kMask), Term("hmm", TermAction::kHold),
                  Term("no", TermAction::kReject)});
  TermScratch s;
  EXPECT_EQ(s.Scan(*set, "meh").action, TermAction::kMask);
  EXPECT_EQ(s.Scan(*set, "meh hmm").action, TermAction::kHold);
  TermVerdict v = s.Scan(*set, "meh hmm no");
  EXPECT_EQ(v.action, TermAction::kReject);
  EXPECT_EQ(v.rule, 2u);
  EXPECT_TRUE(v.masked.empty());
}

TEST(BlockedTerms, PunctuationInTermsIsLiteral) {
  auto set = Set({Term("a.b"), Term("c++"), Term("(x)")});
  TermScratch s;
  EXPECT_TRUE(s.Scan(*set, "see a.b now").matched);
  EXPECT_FALSE(s.Scan(*set, "see axb now").matched);
  EXPECT_TRUE(s.Scan(*set, "I like c++").matched);
  EXPECT_TRUE(s.Scan(*set, "f(x) = 1").matched);
}

TEST(BlockedTerms, RegexesAsWrittenAndTheirCompileErrorsNameThePattern) {
  auto set = Set({Regex("[0-9]{3}-[0-9]{4}", TermAction::kMask)});
  TermScratch s;
  EXPECT_EQ(s.Scan(*set, "call 555-1234 now").masked, "call ******** now");
  std::string err;
  EXPECT_FALSE(TermSet::Compile({Term("ok"), Regex("(unclosed")}, &err));
  EXPECT_NE(err.find("(unclosed"), std::string::npos) << err;
  EXPECT_FALSE(TermSet::Compile({Regex("x*")}, &err));  // matches the empty string
  EXPECT_NE(err.find("x*"), std::string::npos) << err;
}

TEST(BlockedTerms, OneScratchServesManySets) {
  auto a = Set({Term("apple")});
  auto b = Set({Regex("ban+a", TermAction::kHold), Term("cherry*", TermAction::kMask)});
  auto empty = Set({});
  TermScratch s;
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(s.Scan(*a, "an apple").matched);
    EXPECT_EQ(s.Scan(*b, "bannnna").action, TermAction::kHold);
    EXPECT_FALSE(s.Scan(*empty, "apple banana").matched);
  }
}

TEST(TermList, ParsesAndWritesTheAdminShape) {
  std::vector<TermRule> rules;
  std::string err;
  ASSERT_TRUE(ParseTermList(R"({"terms":[{"pattern":"bad*","action":"mask"},{"pattern":"worse"}],)"
                            R"("regex":[{"pattern":"[0-9]+","action":"hold"}]})",
                            TermLimits{}, &rules, &err))
      << err;
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[1].action, TermAction::kReject);
  EXPECT_TRUE(rules[2].regex);
  EXPECT_EQ(
      TermListJson(rules),
      R"({"terms":[{"pattern":"bad*","action":"mask"},{"pattern":"worse","action":"reject"}],)"
      R"("regex":[{"pattern":"[0-9]+","action":"hold"}]})");
  ASSERT_TRUE(ParseTermList("{}", TermLimits{}, &rules, &err));
  EXPECT_TRUE(rules.empty());
}

TEST(TermList, RefusesWhatBreaksTheLimits) {
  std::vector<TermRule> rules;
  std::string err;
  TermLimits small{2, 5, 1, 8};
  for (const char* body :
       {"[]", "{\"terms\":{}}", "{\"terms\":[{\"action\":\"mask\"}]}",
        "{\"terms\":[{\"pattern\":\"a\",\"action\":\"nuke\"}]}",
        "{\"terms\":[{\"pattern\":\"*\"}]}", "{\"terms\":[{\"pattern\":\"a*b\"}]}",
        "{\"terms\":[{\"pattern\":\"sixsix\"}]}",
        "{\"terms\":[{\"pattern\":\"a\"},{\"pattern\":\"b\"},{\"pattern\":\"c\"}]}",
        "{\"regex\":[{\"pattern\":\"123456789\"}]}",
        "{\"regex\":[{\"pattern\":\"a\"},{\"pattern\":\"b\"}]}", "{\"other\":[]}",
        "{\"terms\":[{\"pattern\":\"a\\u0001\"}]}"}) {
    err.clear();
    EXPECT_FALSE(ParseTermList(body, small, &rules, &err)) << body;
    EXPECT_FALSE(err.empty()) << body;
  }
  EXPECT_TRUE(ParseTermList("{\"terms\":[{\"pattern\":\"*ab*\"}]}", small, &rules, &err)) << err;
  EXPECT_TRUE(ParseTermList("{\"terms\":[{\"pattern\":\"héllo\"}]}", small, &rules, &err)) << err;
}

}  // namespace
}  // namespace roomcast::chat

namespace roomcast::chat {
namespace {

// "[0-9]{32222}" took the matcher's compiler over 10 s (found by fuzz_moderation_text): counted
// repeats are bounded, each and in all, and a '{' that is no count stays a literal.
TEST(BlockedTerms, CountedRepeatsAreBounded) {
  std::vector<TermRule> rules;
  std::string error;
  for (const char* bad :
       {R"({"regex":[{"pattern":"[0-9]{32222}"}]})", R"({"regex":[{"pattern":"a{33}"}]})",
        R"({"regex":[{"pattern":"a{2,40}"}]})", R"({"regex":[{"pattern":"(a{30}b){30}c{5}"}]})"}) {
    EXPECT_FALSE(ParseTermList(bad, TermLimits{}, &rules, &error)) << bad;
    EXPECT_NE(error.find("counted repeats"), std::string::npos) << error;
  }
  for (const char* good :
       {R"({"regex":[{"pattern":"a{32}"}]})", R"({"regex":[{"pattern":"(a{2,8}b){20}"}]})",
        R"({"regex":[{"pattern":"x\\{99999}"}]})", R"({"regex":[{"pattern":"{abc}"}]})"}) {
    EXPECT_TRUE(ParseTermList(good, TermLimits{}, &rules, &error)) << good << ": " << error;
    EXPECT_TRUE(TermSet::Compile(rules, &error)) << good << ": " << error;
  }
}

}  // namespace
}  // namespace roomcast::chat
