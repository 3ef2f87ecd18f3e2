// A shard's sessions (session::Sessions: every protocol handler) driven by arbitrary bytes on
// three connections through the fakes of tests/unit/session, with a fake owner that answers
// every ask the way the real one does (joins counted or not, publishes acked and forwarded,
// history pages) whenever the input says so, and with time passing, sweeps, closes and slot
// reuse in between. Invariants: nothing is ever written to a connection after the loop reported
// it closed (answers for an earlier connection in a slot are dropped); the owner's viewer count
// of a room never goes below zero (no leave without its join) and is zero once every connection
// is closed and every ask answered (no leak, no double leave); no replica, viewer, parked poll or
// catch-up outlives its connections.
//
// Input: a series of steps; each step's first byte picks the connection (low 2 bits, mod 3) and
// the action (next 3 bits): 0-3 bytes in (a length byte, then that many bytes), 4 the owner
// answers, 5 time passes (the next byte x 20 ms) and the loop gets ready to sleep, 6 a second
// passes (the sweep), 7 the loop closes the connection (or, when closed, a new one takes its slot).
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "session_fakes.h"

namespace {

using roomcast::Config;
using roomcast::session::ConnId;
using roomcast::session::testing::Harness;
namespace mesh = roomcast::mesh;

constexpr ConnId kConns = 3;

// The owner side of the fake: heads, viewer counts, and the answers.
class FakeOwner {
 public:
  explicit FakeOwner(Harness* h) : h_(*h) {}

  // Answers every ask made so far (answers may make new asks: those wait for the next call).
  void AnswerAll(uint8_t refuse_mask) {
    auto joins = std::move(h_.rooms.joins);
    auto publishes = std::move(h_.rooms.publishes);
    auto retracts = std::move(h_.rooms.retracts);
    auto histories = std::move(h_.rooms.histories);
    auto reacts = std::move(h_.rooms.reacts);
    h_.rooms.reacts.clear();
    h_.rooms.joins.clear();
    h_.rooms.publishes.clear();
    h_.rooms.retracts.clear();
    h_.rooms.histories.clear();
    TakeLeaves();
    for (const mesh::PublishReq& p : publishes) Publish(p);
    for (const mesh::RetractReq& r : retracts) {
      mesh::AckReply ack{r.to, true, r.cors, ++head_[r.room]};
      ack.target = r.target;
      h_.sessions->OnAnswer(ack);
    }
    for (size_t i = 0; i < joins.size(); ++i) Join(joins[i], (refuse_mask >> (i % 8)) & 1);
    // Every other reaction is refused (an ack with op "react"); each one sent is answered with
    // the room's reactions and presence events, unsequenced, to every viewer of the room here.
    for (size_t i = 0; i < reacts.size(); ++i) {
      const mesh::ReactReq& r = reacts[i];
      if (i % 2 == 1) {
        mesh::AckReply ack{r.to};
        ack.op = "react";
        ack.refusal = roomcast::chat::Refusal::kRateLimited;
        ack.retry_ms = 100;
        h_.sessions->OnAnswer(ack);
        continue;
      }
      h_.sessions->OnRoomEvent(mesh::RoomEvent{r.room, "reactions", R"({"type":"reactions"})"});
      h_.sessions->OnRoomEvent(
          mesh::RoomEvent{r.room, "state", R"({"type":"state"})", count_[r.room] + i % 3});
    }
    for (const mesh::HistoryReq& q : histories) {
      mesh::HistoryReply rep{q.to, q.cors, q.room, "E1", head_[q.room]};
      rep.last = rep.head;
      rep.latest = q.latest;  // a snapshot build: answers every request waiting for it
      rep.limit = q.limit;
      h_.sessions->OnAnswer(rep);
    }
    TakeLeaves();
  }

  void TakeLeaves() {
    for (const mesh::LeaveReq& l : h_.rooms.leaves) {
      FUZZ_CHECK(count_[l.room] >= l.count);  // never a leave without its join
      count_[l.room] -= l.count;
    }
    h_.rooms.leaves.clear();
  }

  bool NobodyCounted() const {
    for (const auto& [room, n] : count_) {
      if (n != 0) return false;
    }
    return true;
  }

 private:
  void Publish(const mesh::PublishReq& p) {
    const uint64_t seq = ++head_[p.room];
    mesh::AckReply ack{p.to, p.http, p.cors, seq, "m" + std::to_string(seq), p.cid};
    h_.sessions->OnAnswer(ack);
    h_.Forward(p.room, seq, R"({"type":"msg","seq":)" + std::to_string(seq) + "}");
  }

  void Join(const mesh::JoinReq& j, bool refuse) {
    mesh::JoinReply rep;
    rep.room = j.room;
    rep.to = j.to;
    rep.mode = j.mode;
    rep.tag = j.tag;
    if (refuse) {
      rep.refusal = roomcast::chat::Refusal::kTooManyRooms;
      return h_.sessions->OnAnswer(rep);
    }
    const uint64_t head = head_[j.room];
    rep.epoch = "E1";
    rep.head = head;
    rep.last = head;
    rep.online = count_[j.room];
    if (j.mode == mesh::JoinMode::kPoll) {
      rep.counted = j.since != mesh::kNoSince && j.since >= head;  // parked
    } else {
      rep.counted = true;
    }
    if (rep.counted) count_[j.room]++;
    h_.sessions->OnAnswer(rep);
  }

  Harness& h_;
  std::map<std::string, uint64_t> head_;
  std::map<std::string, uint64_t> count_;
};

Config FuzzConfig() {
  Config c;
  c.max_frame = 512;
  c.max_head = 1024;
  c.max_body = 512;
  c.poll_hold_ms = 2000;
  c.ping_secs = 2;
  c.pong_timeout_secs = 1;
  c.handshake_timeout_secs = 2;
  c.keepalive_secs = 3;
  c.max_history_request = 4;
  c.max_queue_bytes = 4096;
  c.admin_key = "0123456789abcdef0123456789abcdef";
  c.dev_auth = true;  // ?user= names users (the seeds use it); ?token= and Bearer are checked too
  return c;
}

// An HS256 key, so that tokens in the input go through the verifier (and are refused: 401).
std::shared_ptr<const roomcast::auth::TokenKeys> FuzzKeys() {
  static const auto keys = [] {
    std::string err;
    return roomcast::auth::TokenKeys::Load("fuzz-secret-0123456789", "", &err);
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  roomcast::fuzz::ByteTaker in(data, size);
  Harness h(FuzzConfig(), FuzzKeys());
  FakeOwner owner(&h);
  uint32_t clock_s = 0;
  for (ConnId c = 0; c < kConns; ++c) h.Accept(c);
  for (int steps = 0; !in.Rest().empty() && steps < 256; ++steps) {
    const uint8_t op = in.Byte();
    const ConnId c = (op & 3) % kConns;
    switch ((op >> 2) & 7) {
      case 4:
        owner.AnswerAll(in.Byte());
        break;
      case 5:
        h.Idle(in.Byte() * 20u);
        owner.TakeLeaves();
        break;
      case 6:
        h.sessions->SetClock(++clock_s);
        h.sessions->OnSecond();
        break;
      case 7:  // the loop closes the connection; the next time, a new one takes the slot
        if (h.out.conns[c].gone) {
          h.Accept(c);
        } else {
          h.Closed(c);
          owner.TakeLeaves();
        }
        break;
      default: {
        const size_t n = std::min<size_t>(in.Byte(), in.Rest().size());
        const std::string_view bytes = in.Rest().substr(0, n);
        for (size_t i = 0; i < n; ++i) (void)in.Byte();
        if (!h.out.conns[c].closed && !h.out.conns[c].gone) h.Recv(c, bytes);
        break;
      }
    }
  }
  // Wind down: every ask answered, every connection closed.
  for (int i = 0; i < 8; ++i) owner.AnswerAll(0);
  for (ConnId c = 0; c < kConns; ++c) {
    if (!h.out.conns[c].gone) h.Closed(c);
  }
  owner.AnswerAll(0);
  owner.TakeLeaves();
  FUZZ_CHECK(h.out.writes_after_close == 0);
  FUZZ_CHECK(owner.NobodyCounted());
  const roomcast::session::Sessions::Stats st = h.sessions->GetStats();
  FUZZ_CHECK(st.ws_viewers == 0 && st.sse_viewers == 0 && st.parked == 0);
  FUZZ_CHECK(st.catchups == 0 && st.replicas == 0);
  return 0;
}
