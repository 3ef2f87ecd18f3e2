#include "base/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roomcast {
namespace {

ParseOutcome Parse(std::vector<std::string> args, Config* cfg) {
  std::vector<char*> argv;
  static std::string prog = "roomcast";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), cfg);
}

TEST(Config, DefaultsAndFlags) {
  Config c;
  EXPECT_EQ(Parse({"--listen", "127.0.0.1:9000", "--shards=3", "--history", "10", "--slow-policy",
                   "close", "--dev-auth"},
                  &c),
            ParseOutcome::kRun);
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.shards, 3);
  EXPECT_EQ(c.history, 10u);
  EXPECT_EQ(c.slow_policy, SlowPolicy::kClose);
  EXPECT_TRUE(c.dev_auth);
  EXPECT_EQ(c.max_frame, 65536u) << "untouched default";
}

TEST(Config, Ipv6Listen) {
  Config c;
  EXPECT_EQ(Parse({"--listen", "[::1]:8081"}, &c), ParseOutcome::kRun);
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 8081);
}

TEST(Config, BadInputIsAUsageError) {
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"--nope"},
                                             {"--history"},
                                             {"--history", "-1"},
                                             {"--history", "12x"},
                                             {"--max-frame", "1"},
                                             {"--listen", "127.0.0.1"},
                                             {"--listen", "127.0.0.1:70000"},
                                             {"--slow-policy", "maybe"},
                                             {"--recv-buf-count", "100"},
                                             {"stray"}}) {
    Config c;
    EXPECT_EQ(Parse(bad, &c), ParseOutcome::kExitUsage) << bad[0];
  }
}

TEST(Config, DescribeNamesEverySetting) {
  Config c;
  std::string d = DescribeConfig(c);
  EXPECT_NE(d.find("listen=0.0.0.0:8080"), std::string::npos);
  EXPECT_NE(d.find("slow-policy=skip"), std::string::npos);
  EXPECT_NE(d.find("max-queue-bytes=1048576"), std::string::npos);
}

}  // namespace
}  // namespace roomcast
