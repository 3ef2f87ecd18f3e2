// OwnerService driven by plain calls: what it answers, to which shard, and when (before or after
// its EventLog has written the event).
#include "owner/owner_service.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "owner_fakes.h"

namespace roomcast::owner {
namespace {

using namespace fakes;  // NOLINT: the shared fakes

TEST(OwnerService, PublishAcksTheSenderAndForwardsOncePerShardWithViewers) {
  Fixture f(3);
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j1 = Join("r");
  owner.OnJoin(1, j1);  // a viewer on shard 1
  auto j2 = Join("r");
  owner.OnJoin(2, j2);  // two on shard 2
  owner.OnJoin(2, j2);
  out.sent.clear();
  auto p = Pub("r", "alice", "hi", "c-1");
  owner.OnPublish(0, p, 5);
  ASSERT_EQ(out.sent.size(), 3u);
  EXPECT_EQ(out.sent[0].shard, 0);
  const auto& ack = out.At<mesh::AckReply>(0);
  EXPECT_EQ(ack.seq, 1u);
  EXPECT_EQ(ack.id, "c-1");
  EXPECT_EQ(ack.to.conn, 7u);
  EXPECT_EQ(ack.to.gen, 3u);
  EXPECT_EQ(ack.refusal, chat::Refusal::kNone);
  EXPECT_EQ(out.sent[1].shard, 1);
  EXPECT_EQ(out.sent[2].shard, 2);
  EXPECT_EQ(out.At<mesh::ForwardMsg>(1).msg.seq, 1u);
  EXPECT_NE(out.At<mesh::ForwardMsg>(2).msg.json.find(R"("text":"hi")"), std::string::npos);
  EXPECT_EQ(f.sequenced.load(), 1u);
}

TEST(OwnerService, AResendGetsTheOriginalAckAndIsNotSequencedAgain) {
  Fixture f;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto p = Pub("r", "alice", "hi", "c-1");
  owner.OnPublish(0, p, 5);
  owner.OnPublish(1, p, 6);
  auto other = Pub("r", "bob", "hi", "c-1");  // another user's cid is another message
  owner.OnPublish(1, other, 7);
  ASSERT_EQ(out.sent.size(), 3u);
  EXPECT_TRUE(out.At<mesh::AckReply>(1).duplicate);
  EXPECT_EQ(out.At<mesh::AckReply>(1).seq, 1u);
  EXPECT_EQ(out.sent[1].shard, 1);
  EXPECT_FALSE(out.At<mesh::AckReply>(2).duplicate);
  EXPECT_EQ(out.At<mesh::AckReply>(2).seq, 2u);
  EXPECT_EQ(f.dedup.load(), 1u);
  EXPECT_EQ(f.sequenced.load(), 2u);
}

TEST(OwnerService, AnotherUsersCidGetsAServerIdSoIdsStayUniqueInARoom) {
  Fixture f;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto a = Pub("r", "alice", "from alice", "1");
  owner.OnPublish(0, a, 1);
  auto b = Pub("r", "bob", "from bob", "1");
  owner.OnPublish(0, b, 2);
  auto again = Pub("r", "alice", "from alice", "1");  // alice's resend: her first ack
  owner.OnPublish(0, again, 3);
  auto other_room = Pub("q", "bob", "elsewhere", "1");  // another room: the cid is bob's there
  owner.OnPublish(0, other_room, 4);
  EXPECT_EQ(out.At<mesh::AckReply>(0).id, "1");
  const std::string bob_id = out.At<mesh::AckReply>(1).id;
  EXPECT_NE(bob_id, "1");
  EXPECT_EQ(out.At<mesh::AckReply>(1).cid, "1");  // bob still matches the ack by his cid
  EXPECT_TRUE(out.At<mesh::AckReply>(2).duplicate);
  EXPECT_EQ(out.At<mesh::AckReply>(2).id, "1");
  EXPECT_EQ(out.At<mesh::AckReply>(3).id, "1");
  auto join = Join("r", 0);
  owner.OnJoin(1, join);
  const auto& h = out.At<mesh::JoinReply>(4).history;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_NE(h[0].json.find(R"("id":"1")"), std::string::npos);
  EXPECT_NE(h[1].json.find(R"("id":")" + bob_id + R"(")"), std::string::npos);
}

TEST(OwnerService, ADeferringLogHoldsAcksForwardsAndVisibilityUntilWritten) {
  Fixture f;
  RecordingOutbox out;
  HoldingLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto j = Join("r");
  owner.OnJoin(1, j);
  out.sent.clear();
  auto p = Pub("r", "alice", "hi");
  owner.OnPublish(0, p, 5);
  EXPECT_TRUE(out.sent.empty());
  EXPECT_EQ(log.appended, (std::vector<uint64_t>{1}));
  EXPECT_EQ(log.users, (std::vector<std::string>{"alice"}));
  // Not written yet: a join sees head 0 and nothing to replay.
  auto late = Join("r", 0);
  owner.OnJoin(1, late);
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.At<mesh::JoinReply>(0).head, 0u);
  EXPECT_TRUE(out.At<mesh::JoinReply>(0).history.empty());
  log.Flush();
  ASSERT_EQ(out.sent.size(), 3u);
  EXPECT_EQ(out.At<mesh::AckReply>(1).seq, 1u);
  EXPECT_EQ(out.At<mesh::ForwardMsg>(2).msg.seq, 1u);
  auto after = Join("r", 0);
  owner.OnJoin(1, after);
  EXPECT_EQ(out.At<mesh::JoinReply>(3).head, 1u);
  EXPECT_EQ(out.At<mesh::JoinReply>(3).history.size(), 1u);
}

TEST(OwnerService, RefusalsAreTypedAndSentAtOnce) {
  Fixture f(1, /*max_rooms=*/1);
  RecordingOutbox out;
  HoldingLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto a = Pub("a", "u", "x");
  owner.OnPublish(0, a, 1);  // room "a" takes the only room
  log.Flush();
  auto b = Pub("b", "u", "x");
  owner.OnPublish(0, b, 2);
  EXPECT_EQ(out.At<mesh::AckReply>(1).refusal, chat::Refusal::kRoomLimit);
  auto jb = Join("b");
  owner.OnJoin(0, jb);
  EXPECT_EQ(out.At<mesh::JoinReply>(2).refusal, chat::Refusal::kTooManyRooms);
  EXPECT_EQ(chat::Describe(chat::Refusal::kTooManyRooms).http_status, 503);
  EXPECT_EQ(chat::Describe(chat::Refusal::kTooManyRooms).code, "unavailable");
  log.writable = false;
  auto again = Pub("a", "u", "y");
  owner.OnPublish(0, again, 3);
  EXPECT_EQ(out.At<mesh::AckReply>(3).refusal, chat::Refusal::kLogFailed);
  EXPECT_EQ(log.appended.size(), 1u);
}

TEST(OwnerService, RetractAnswersWithTheRetractEventOrTheReason) {
  Fixture f;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  auto p = Pub("r", "alice", "oops");
  owner.OnPublish(0, p, 1);
  mesh::RetractReq rr{"r", 1, "spam", "mod", 2, {4, 4}, 0};
  owner.OnRetract(1, rr, 2);
  const auto& ok = out.At<mesh::AckReply>(1);
  EXPECT_EQ(ok.refusal, chat::Refusal::kNone);
  EXPECT_EQ(ok.target, 1u);
  EXPECT_EQ(ok.seq, 2u);
  owner.OnRetract(1, rr, 3);
  EXPECT_EQ(out.At<mesh::AckReply>(2).refusal, chat::Refusal::kAlreadyRetracted);
  mesh::RetractReq none{"r", 99, "", "mod", 2, {4, 4}, 0};
  owner.OnRetract(1, none, 3);
  EXPECT_EQ(out.At<mesh::AckReply>(3).refusal, chat::Refusal::kNoSuchMessage);
  mesh::RetractReq other{"nope", 1, "", "mod", 2, {4, 4}, 0};
  owner.OnRetract(1, other, 3);
  EXPECT_EQ(out.At<mesh::AckReply>(4).refusal, chat::Refusal::kNoSuchMessage);
  EXPECT_EQ(f.retractions.load(), 1u);
}

TEST(OwnerService, JoinsResumeAndLeavesCount) {
  Fixture f;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  for (int i = 0; i < 5; ++i) {
    auto p = Pub("r", "u", "m" + std::to_string(i));
    owner.OnPublish(0, p, 1);
  }
  out.sent.clear();
  auto resume = Join("r", 3);
  owner.OnJoin(1, resume);
  const auto& rep = out.At<mesh::JoinReply>(0);
  EXPECT_EQ(rep.head, 5u);
  ASSERT_EQ(rep.history.size(), 2u);
  EXPECT_EQ(rep.history[0].seq, 4u);
  EXPECT_TRUE(rep.counted);
  EXPECT_EQ(rep.online, 1u);
  auto other_epoch = Join("r", 3);
  other_epoch.epoch = "zzzz";
  owner.OnJoin(1, other_epoch);
  EXPECT_TRUE(out.At<mesh::JoinReply>(1).reset);
  EXPECT_EQ(out.At<mesh::JoinReply>(1).history.size(), 5u);
  owner.OnLeave(1, mesh::LeaveReq{"r", 2});
  auto last = Join("r");
  owner.OnJoin(1, last);
  EXPECT_EQ(out.At<mesh::JoinReply>(2).online, 1u);
}

TEST(OwnerService, AStreamResumePastTheRequestLimitIsAnsweredInUncountedPages) {
  Fixture f;
  f.opt.history = 100;
  f.opt.max_history_request = 4;
  RecordingOutbox out;
  MemoryEventLog log(&out);
  OwnerService owner(0, f.opt, &log, &out, f.Counters());
  for (int i = 0; i < 10; ++i) {
    auto p = Pub("r", "u", "m");
    owner.OnPublish(0, p, 1);
  }
  out.sent.clear();
  auto j = Join("r", 0);
  owner.OnJoin(1, j);
  const auto p1 = out.At<mesh::JoinReply>(0);
  EXPECT_TRUE(p1.more);
  EXPECT_FALSE(p1.counted);
  EXPECT_EQ(p1.gap_to, 0u) << "nothing is gone: no gap";
  EXPECT_EQ(p1.head, 10u);
  EXPECT_EQ(p1.last, 4u);
  EXPECT_EQ(p1.history.size(), 4u);
  EXPECT_EQ(p1.prio_sent_upto, 10u);
  EXPECT_EQ(p1.online, 1u) << "online counts the viewer that is catching up";
  // The next page, from the last seq of the first.
  auto j2 = Join("r", p1.last);
  j2.epoch = p1.epoch;
  j2.prio_sent_upto = p1.prio_sent_upto;
  owner.OnJoin(1, j2);
  const auto p2 = out.At<mesh::JoinReply>(1);
  EXPECT_TRUE(p2.more);
  EXPECT_EQ(p2.history.front().seq, 5u);
  EXPECT_EQ(p2.last, 8u);
  // A message meanwhile: nobody is counted, so it is forwarded to no shard.
  auto late = Pub("r", "u", "late");
  owner.OnPublish(0, late, 1);
  ASSERT_EQ(out.sent.size(), 3u);  // the ack only
  // The rest fits one page: the last answer counts the viewer and reaches the head.
  auto j3 = Join("r", p2.last);
  j3.epoch = p1.epoch;
  j3.prio_sent_upto = p2.prio_sent_upto;
  owner.OnJoin(1, j3);
  const auto p3 = out.At<mesh::JoinReply>(3);
  EXPECT_FALSE(p3.more);
  EXPECT_TRUE(p3.counted);
  EXPECT_EQ(p3.last, 11u);
  EXPECT_EQ(p3.head, 11u);
  ASSERT_EQ(p3.history.size(), 3u);
  EXPECT_EQ(p3.history.back().seq, 11u);
  EXPECT_EQ(p3.online, 1u);
  // A long-poll still pages by its cursor, uncounted and without `more`.
  auto poll = Join("r", 0);
  poll.mode = mesh::JoinMode::kPoll;
  owner.OnJoin(2, poll);
  const auto pp = out.At<mesh::JoinReply>(4);
  EXPECT_FALSE(pp.more);
  EXPECT_FALSE(pp.counted);
  EXPECT_EQ(pp.last, 4u);
}

TEST(MeshMessage, PackAndUnpackMoveOwnership) {
  mesh::Item it = mesh::Pack(mesh::LeaveReq{"room", 3});
  std::unique_ptr<mesh::Message> back = mesh::Unpack(it);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<mesh::LeaveReq>(*back).count, 3u);
  EXPECT_FALSE(mesh::Unpack(mesh::Item{0, 0, 0, nullptr}));
}

}  // namespace
}  // namespace roomcast::owner
