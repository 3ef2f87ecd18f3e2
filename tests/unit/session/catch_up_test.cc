// When a catch-up asks for its next page (catch_up.h).
#include "session/catch_up.h"

#include <gtest/gtest.h>

namespace roomcast::session {
namespace {

TEST(CatchUpPageFits, OnePageInFlightAtMost) {
  CatchUp cu;
  cu.last_page_bytes = 100;
  EXPECT_TRUE(PageFits(cu, 0, 1000));
  cu.in_flight = true;
  EXPECT_FALSE(PageFits(cu, 0, 1000));
}

TEST(CatchUpPageFits, AskWhenTheNextPageFitsUnderTheBoundOrTheQueueIsEmpty) {
  CatchUp cu;
  cu.last_page_bytes = 300;
  EXPECT_TRUE(PageFits(cu, 700, 1000));
  EXPECT_FALSE(PageFits(cu, 701, 1000));
  // A page bigger than the bound goes out only into an empty queue.
  cu.last_page_bytes = 5000;
  EXPECT_FALSE(PageFits(cu, 1, 1000));
  EXPECT_TRUE(PageFits(cu, 0, 1000));
  // No overflow near the top of the range.
  cu.last_page_bytes = UINT32_MAX;
  EXPECT_FALSE(PageFits(cu, UINT32_MAX, UINT32_MAX));
}

}  // namespace
}  // namespace roomcast::session
