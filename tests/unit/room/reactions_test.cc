#include "room/reactions.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::room {
namespace {

TEST(ReactionWindow, OneEventWithTheWindowsTotals) {
  ReactionWindow w;
  EXPECT_EQ(w.TakeCounts(), "{}");
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(w.Add(i % 4 == 0 ? "🔥" : ":Kappa:"));
  EXPECT_TRUE(w.Add("\"quoted\""));
  const std::string counts = w.TakeCounts();
  EXPECT_EQ(counts, R"({":Kappa:":750,"🔥":250,"\"quoted\"":1})");
  EXPECT_EQ(ReactionWindow::EventJson("lobby", 1000, counts),
            R"({"type":"reactions","room":"lobby","window_ms":1000,)"
            R"("counts":{":Kappa:":750,"🔥":250,"\"quoted\"":1}})");
  EXPECT_TRUE(w.Empty());
  EXPECT_EQ(w.TakeCounts(), "{}");
}

TEST(ReactionWindow, DistinctEmotesAreBoundedPerWindow) {
  ReactionWindow w;
  for (size_t i = 0; i < ReactionWindow::kMaxKinds; ++i)
    EXPECT_TRUE(w.Add(":e" + std::to_string(i) + ":"));
  EXPECT_FALSE(w.Add(":one_too_many:"));
  EXPECT_TRUE(w.Add(":e0:"));  // a known one still counts
  EXPECT_EQ(w.Dropped(), 1u);
  (void)w.TakeCounts();
  EXPECT_TRUE(w.Add(":one_too_many:"));  // a new window
}

}  // namespace
}  // namespace roomcast::room
