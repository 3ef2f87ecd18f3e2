// The shared long-poll answer body: exact bytes, valid JSON with every field the contract names.
#include "longpoll/poll_response.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace roomcast::longpoll {
namespace {

TEST(PollBody, EmptyMessagesKeepTheCursor) {
  EXPECT_EQ(BuildPollBody({}, "AQ_x-9", 0, "5f0c9a1e", 41),
            R"({"messages":[],"cursor":"AQ_x-9","timeoutMs":0,"epoch":"5f0c9a1e","seq":41})");
}

TEST(PollBody, ObjectsInOrderCommaSeparated) {
  const std::vector<std::string_view> objs = {R"({"type":"gap","room":"r","from":1,"to":2})",
                                              R"({"type":"msg","seq":3})",
                                              R"({"type":"msg","seq":4})"};
  EXPECT_EQ(BuildPollBody(objs, "c", 2400, "e", 4),
            R"({"messages":[{"type":"gap","room":"r","from":1,"to":2},{"type":"msg","seq":3},)"
            R"({"type":"msg","seq":4}],"cursor":"c","timeoutMs":2400,"epoch":"e","seq":4})");
}

TEST(PollBody, LargeNumbersAndManyObjects) {
  std::vector<std::string> owned(1000, R"({"type":"msg"})");
  std::vector<std::string_view> objs(owned.begin(), owned.end());
  const std::string body = BuildPollBody(objs, "c", 4294967295u, "e", UINT64_MAX);
  EXPECT_NE(body.find(R"("timeoutMs":4294967295,)"), std::string::npos);
  EXPECT_NE(body.find(R"("seq":18446744073709551615})"), std::string::npos);
  size_t count = 0;
  for (size_t p = body.find(R"({"type":"msg"})"); p != std::string::npos;
       p = body.find(R"({"type":"msg"})", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1000u);
}

}  // namespace
}  // namespace roomcast::longpoll
