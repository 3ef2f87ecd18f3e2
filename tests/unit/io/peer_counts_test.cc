#include "io/peer_counts.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace roomcast::io {
namespace {

PeerKey V4(const char* text) {
  sockaddr_storage ss{};
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(1234);
  EXPECT_EQ(inet_pton(AF_INET, text, &a4->sin_addr), 1);
  PeerKey k;
  EXPECT_TRUE(PeerKeyFrom(ss, sizeof(sockaddr_in), &k));
  return k;
}

TEST(PeerCounts, CapPerAddressAndReleaseFreesACount) {
  PeerCounts pc(2);
  const PeerKey a = V4("127.0.0.2"), b = V4("127.0.0.3");
  EXPECT_TRUE(pc.Acquire(a));
  EXPECT_TRUE(pc.Acquire(a));
  EXPECT_FALSE(pc.Acquire(a)) << "the third from one address is over the cap";
  EXPECT_EQ(pc.Count(a), 2u);
  EXPECT_TRUE(pc.Acquire(b)) << "another address has its own count";
  pc.Release(a);
  EXPECT_TRUE(pc.Acquire(a));
  pc.Release(a);
  pc.Release(a);
  pc.Release(b);
  EXPECT_EQ(pc.Count(a), 0u);
  EXPECT_EQ(pc.Addresses(), 0u) << "an address without connections is not listed";
  pc.Release(a);  // an address not listed: nothing happens
  EXPECT_EQ(pc.Addresses(), 0u);
}

TEST(PeerCounts, KeysAndText) {
  EXPECT_EQ(PeerKeyText(V4("127.1.2.3")), "127.1.2.3");
  sockaddr_storage ss{};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  a6->sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::1", &a6->sin6_addr), 1);
  PeerKey k;
  ASSERT_TRUE(PeerKeyFrom(ss, sizeof(sockaddr_in6), &k));
  EXPECT_EQ(PeerKeyText(k), "::1");
  EXPECT_FALSE(PeerKeyFrom(ss, sizeof(sockaddr_in6) - 1, &k)) << "a short address is refused";
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(PeerKeyFrom(ss, sizeof(ss), &k));
  EXPECT_FALSE(V4("127.0.0.1") == V4("127.0.0.2"));
}

TEST(PeerCounts, ThreadsNeverPassTheCap) {
  PeerCounts pc(100);
  const PeerKey a = V4("192.0.2.1");
  std::vector<std::thread> threads;
  std::atomic<int> granted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (pc.Acquire(a)) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 100);
  EXPECT_EQ(pc.Count(a), 100u);
}

}  // namespace
}  // namespace roomcast::io
