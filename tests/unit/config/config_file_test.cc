// The config file and ROOMCAST_* variables under the command line (config_file.cc), and the
// histogram the metrics are built from (base/histogram.h).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/histogram.h"

namespace roomcast {
namespace {

bool Load(std::vector<std::string> args, Config* cfg, std::string* error) {
  std::vector<char*> argv;
  static std::string prog = "roomcast";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  return LoadConfig(static_cast<int>(argv.size()), argv.data(), cfg, error);
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFile, FileThenEnvironmentThenFlags) {
  const std::string path =
      WriteFile("rc1.conf", "# c\nhistory = 10\n  max-text=11 \ntick-ms = \"12\"\nno-demo\n");
  setenv("ROOMCAST_MAX_TEXT", "21", 1);
  setenv("ROOMCAST_TICK_MS", "22", 1);
  Config c;
  std::string err;
  EXPECT_TRUE(Load({"--config", path, "--tick-ms", "33"}, &c, &err)) << err;
  unsetenv("ROOMCAST_MAX_TEXT");
  unsetenv("ROOMCAST_TICK_MS");
  EXPECT_EQ(c.history, 10u);
  EXPECT_EQ(c.max_text, 21u);
  EXPECT_EQ(c.tick_ms, 33u);
  EXPECT_TRUE(c.no_demo);
}

TEST(ConfigFile, ErrorsNameTheLine) {
  const std::string path = WriteFile("rc2.conf", "history = 5\n\nfoo = 1\n");
  Config c;
  std::string err;
  EXPECT_FALSE(Load({"--config=" + path}, &c, &err));
  EXPECT_NE(err.find(path + ":3: unknown setting 'foo'"), std::string::npos) << err;
  EXPECT_FALSE(Load({"--config", ::testing::TempDir() + "nope.conf"}, &c, &err));
  EXPECT_NE(err.find("cannot be read"), std::string::npos) << err;
}

TEST(ConfigFile, EmptyEnvironmentVariableIsUnset) {
  setenv("ROOMCAST_HISTORY", "", 1);
  Config c;
  std::string err;
  EXPECT_TRUE(Load({"--config", ""}, &c, &err)) << err;
  unsetenv("ROOMCAST_HISTORY");
  EXPECT_EQ(c.history, Config{}.history);
}

TEST(Histogram, BucketsBySmallestBoundAtLeastTheValue) {
  static constexpr uint64_t kBounds[] = {1, 10, 100};
  Histogram h(kBounds);
  for (uint64_t v : {0, 1, 2, 10, 11, 100, 101, 5000}) h.Observe(v);
  EXPECT_EQ(h.BucketCount(0), 2u);  // 0, 1
  EXPECT_EQ(h.BucketCount(1), 2u);  // 2, 10
  EXPECT_EQ(h.BucketCount(2), 2u);  // 11, 100
  EXPECT_EQ(h.BucketCount(3), 2u);  // +Inf
  EXPECT_EQ(h.Sum(), 0u + 1 + 2 + 10 + 11 + 100 + 101 + 5000);
}

}  // namespace
}  // namespace roomcast
