#include "cluster/redis_rooms.h"

#include <cstdio>
#include <random>
#include <utility>

#include "base/decimal.h"
#include "base/log.h"
#include "chat/mod_op.h"
#include "cluster/event_codec.h"

namespace roomcast::cluster {

namespace {

constexpr size_t kMaxEarly = 10000;  // channel messages kept per room while its copy catches up
constexpr size_t kMaxHeld = 10000;   // asks waiting per room (more are answered from the copy)
constexpr uint32_t kReadPage = 1000;

void Add(std::atomic<uint64_t>* c, uint64_t n) {
  c->store(c->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// A cid is the sender's: two users' equal cids are two messages (the key holds the user's tag).
std::string DedupId(const room::PublishInput& in) {
  if (in.cid.empty()) return {};
  char tag[17];
  std::snprintf(tag, sizeof(tag), "%016llx",
                static_cast<unsigned long long>(room::UserTag(in.user)));
  return std::string(tag) + ":" + std::string(in.cid);
}

}  // namespace

RedisRooms::RedisRooms(io::Loop* loop, const ClusterOptions& opt, owner::OwnerService* owner,
                       owner::Outbox* out, ClusterCounters counters)
    : loop_(loop), opt_(opt), owner_(owner), out_(out), counters_(counters) {
  const size_t n = opt_.addrs.size();
  std::vector<RedisLink*> cmd, sub;
  for (size_t i = 0; i < 2 * n; ++i) {
    LinkOptions lo;
    lo.pubsub = i >= n;
    lo.connect_timeout_ms = opt_.deadline_ms;
    lo.probe_idle_ms = lo.pubsub ? opt_.probe_ms : 0;
    links_.push_back(
        std::make_unique<RedisLink>(loop, opt_.addrs[i % n], static_cast<uint32_t>(i), lo));
    (i < n ? cmd : sub).push_back(links_.back().get());
  }
  SequencerOptions so;
  so.history = opt_.history == 0 ? 1 : opt_.history;
  so.dedup_secs = opt_.dedup_secs == 0 ? 1 : opt_.dedup_secs;
  so.deadline_ms = opt_.deadline_ms;
  sequencer_ = std::make_unique<Sequencer>(cmd, so);
  sequencer_->Attach();
  subscriber_ = std::make_unique<Subscriber>(sub);
  subscriber_->Attach();
  subscriber_->on_subscribed = [this](std::string_view room) { OnSubscribed(room); };
  subscriber_->on_event = [this](std::string_view room, const StoredEvent& ev) {
    OnEvent(room, ev);
  };
  std::random_device rd;
  char node[18];
  std::snprintf(node, sizeof(node), "n%016llx",
                static_cast<unsigned long long>((static_cast<uint64_t>(rd()) << 32) ^ rd()));
  counts_ = std::make_unique<FleetCounts>(cmd, node, kCountTtlMs);
  counts_->Attach();
}

RedisLink* RedisRooms::LinkOf(io::ConnId c) {
  for (auto& l : links_) {
    if (l->Owns(c)) return l.get();
  }
  return nullptr;
}

bool RedisRooms::OnConnected(uint32_t token, io::ConnId c, int res) {
  if (token >= links_.size()) return false;
  links_[token]->OnConnected(c, res);
  return true;
}

bool RedisRooms::OnRecv(io::ConnId c, std::span<const uint8_t> bytes) {
  RedisLink* l = LinkOf(c);
  if (l) l->OnRecv(bytes);
  return l != nullptr;
}

bool RedisRooms::OnPeerGone(io::ConnId c) {
  RedisLink* l = LinkOf(c);
  if (l) l->OnPeerGone();
  return l != nullptr;
}

bool RedisRooms::OnClosed(io::ConnId c) {
  RedisLink* l = LinkOf(c);
  if (l) l->OnClosed();
  return l != nullptr;
}

uint32_t RedisRooms::BeforeSleep(uint64_t now_ms) {
  if (stopping_) {  // only the goodbye's replies are awaited
    uint32_t wait = 1000;
    for (auto& l : links_) wait = std::min(wait, l->OnTurn(now_ms));
    return wait;
  }
  if (!started_) {
    started_ = true;
    for (auto& l : links_) l->Start();
    // The server-wide blocked terms (the rules hash of the room "*"): its owner shard follows
    // them for as long as it runs (Settle never lets it go) and hands them to the others.
    if (owner_->Owns(chat::kGlobalRoom)) Want(std::string(chat::kGlobalRoom));
  }
  subscriber_->Flush();
  uint32_t wait = std::min(ExpireHolds(now_ms), ReportCounts(now_ms));
  uint64_t probes = 0, probe_reconnects = 0;
  for (auto& l : links_) {
    wait = std::min(wait, l->OnTurn(now_ms));
    probes += l->Stats().probes;
    probe_reconnects += l->Stats().probe_reconnects;
  }
  SweepRulesReads(now_ms);
  subscriber_->Flush();  // what a turn's callbacks wanted
  counters_.subscribed->store(subscriber_->Rooms(), std::memory_order_relaxed);
  counters_.probes->store(probes, std::memory_order_relaxed);
  counters_.probe_reconnects->store(probe_reconnects, std::memory_order_relaxed);
  return wait;
}

void RedisRooms::Stop() {
  stopping_ = true;
  const uint64_t deadline = loop_->NowMs() + kGoodbyeMs;
  for (const auto& [room, c] : counted_) {
    if (c.reported != 0) counts_->Leave(room, deadline);
  }
  const size_t n = links_.size() / 2;  // commands [0, n), pub/sub [n, 2n)
  for (size_t i = 0; i < links_.size(); ++i) {
    if (i < n) {
      links_[i]->StopWhenAnswered(deadline);
    } else {
      links_[i]->Stop();
    }
  }
}

void RedisRooms::Submit(int from, room::OwnerRoom* r, const room::PublishInput& in,
                        mesh::AckReply&& ack, SubmitDone done) {
  std::string payload;
  if (!EncodeMessage(*r, in, &payload)) {
    ack.refusal = chat::Refusal::kBadRequest;
    out_->Send(from, std::move(ack));
    if (done) done(false);
    return;
  }
  Add(counters_.publishes, 1);
  const std::string cid(in.cid);
  const bool taken = in.cid_taken;
  sequencer_->Publish(
      r->Name(), DedupId(in), payload, GateOf(in),
      [this, from, ack = std::move(ack), cid, taken, room = r->Name(),
       done = std::move(done)](const PublishResult& res) mutable {
        if (res.status == PublishResult::kRefused || res.status == PublishResult::kShadow) {
          AnswerGate(res, room, &ack);
        } else if (res.status == PublishResult::kSequenced ||
                   res.status == PublishResult::kDuplicate) {
          ack.seq = res.seq;
          ack.id = MessageIdOf(cid, taken, res.epoch, res.seq);
          ack.duplicate = res.status == PublishResult::kDuplicate;
          if (ack.duplicate) Add(counters_.deduplicated, 1);
        } else {
          // Unreachable, too late (the script refused to number it) or an error: never numbered.
          ack.refusal = chat::Refusal::kRedisUnavailable;
          Add(counters_.refused, 1);
        }
        out_->Send(from, std::move(ack));
        if (done) {
          done(res.status == PublishResult::kSequenced || res.status == PublishResult::kDuplicate);
        }
      });
}

bool RedisRooms::HoldJoin(int from, mesh::JoinReq& req) { return HoldAsk(from, req); }

bool RedisRooms::HoldHistory(int from, mesh::HistoryReq& req) { return HoldAsk(from, req); }

void RedisRooms::Hold(int from, const std::string& room, mesh::Message&& ask) {
  Follow& f = follows_[room];
  const uint64_t now = loop_->NowMs();
  if (f.held.empty()) hold_deadlines_.emplace_back(now + kHoldMs, room);
  f.held.push_back(Held{from, std::move(ask), now});
}

uint32_t RedisRooms::ExpireHolds(uint64_t now_ms) {
  while (!hold_deadlines_.empty() && hold_deadlines_.front().first <= now_ms) {
    const std::string room = std::move(hold_deadlines_.front().second);
    hold_deadlines_.pop_front();
    auto it = follows_.find(room);
    if (it == follows_.end() || it->second.held.empty()) continue;  // answered meanwhile
    Follow& f = it->second;
    if (f.held.front().since_ms + kHoldMs > now_ms) {  // released and held again since
      hold_deadlines_.emplace_back(f.held.front().since_ms + kHoldMs, room);
      continue;
    }
    RC_WARN(loop_->ShardId(),
            "redis: room %s: %zu asks held %llu ms without a confirmed subscription; answered "
            "from this node's copy",
            room.c_str(), f.held.size(), static_cast<unsigned long long>(kHoldMs));
    f.unconfirmed = true;
    Release(room);
  }
  if (hold_deadlines_.empty()) return 1000;
  return static_cast<uint32_t>(std::min<uint64_t>(1000, hold_deadlines_.front().first - now_ms));
}

// True when an ask for the room must wait for its copy to be in step (the caller then holds it).
bool RedisRooms::MustHold(const std::string& room) {
  auto it = follows_.find(room);
  if (it != follows_.end() && (it->second.releasing || it->second.unconfirmed ||
                               (it->second.in_step && !it->second.syncing)))
    return false;
  // Redis cannot be reached: answer from the copy now; when the link is back the subscription
  // (kept while the room has viewers) brings the copy, and the viewers, in step. Not before the
  // links were up once: at start-up a copy restored from the local cache was never checked
  // against Redis, so the ask is held (kHoldMs at most) like any other.
  RedisLink* link = sequencer_->LinkOf(room);
  if ((!subscriber_->Ready(room) || !link->Ready()) && link->Stats().connects > 0) return false;
  Want(room);
  Follow& f = follows_[room];
  if (f.held.size() >= kMaxHeld) return false;
  if (f.subscribed && !f.syncing) Sync(room);  // not in step after a failed read: try again now
  return true;
}

void RedisRooms::Want(const std::string& room) {
  if (follows_.contains(room)) return;
  follows_.emplace(room, Follow{});
  subscriber_->Want(room);
}

void RedisRooms::ViewersChanged(std::string_view room, uint64_t online) {
  const std::string name(room);
  if (online > 0) return Want(name);
  auto it = follows_.find(name);
  if (it != follows_.end() && !it->second.releasing) Settle(name);
}

// A followed room nobody waits for and nobody views here is let go (unsubscribed).
void RedisRooms::Settle(const std::string& room) {
  auto it = follows_.find(room);
  if (it == follows_.end()) return;
  const Follow& f = it->second;
  const room::OwnerRoom* r = owner_->Rooms().Find(room);
  if ((r && r->Online() > 0) || !f.held.empty() || f.syncing || room == chat::kGlobalRoom) return;
  follows_.erase(it);
  subscriber_->Drop(room);
}

void RedisRooms::OnSubscribed(std::string_view room) {
  const std::string name(room);
  auto it = follows_.find(name);
  if (it == follows_.end()) return;
  it->second.subscribed = true;
  it->second.unconfirmed = false;
  Sync(name);
}

void RedisRooms::OnEvent(std::string_view room, const StoredEvent& ev) {
  Add(counters_.received, 1);
  auto it = follows_.find(std::string(room));
  if (it == follows_.end()) return;
  if (ev.seq == 0) return OnRuleChange(it->first, ev.payload);  // a rules change, not numbered
  Follow& f = it->second;
  room::OwnerRoom* r = owner_->Rooms().Find(room);
  if (f.syncing || !f.in_step || !r) {
    if (f.early.size() < kMaxEarly) f.early.emplace(ev.seq, ev);
    // Subscribed but not in step: an earlier read failed (Redis stalled or gone meanwhile).
    // Read again now, or these viewers would wait for the next join or reconnect.
    if (!f.syncing && f.subscribed) Sync(it->first);
    return;
  }
  if (ev.epoch == r->Epoch() && ev.seq <= r->LastSeq()) return;  // a double
  if (ev.epoch != r->Epoch() || ev.seq > r->LastSeq() + 1) {
    // A hole (a message lost on the way) or a new epoch: repair from the stream.
    f.early.emplace(ev.seq, ev);
    return Sync(it->first);
  }
  Apply(r, ev);
}

void RedisRooms::Sync(const std::string& room) {
  Follow& f = follows_[room];
  if (f.syncing) {
    f.again = true;
    return;
  }
  f.syncing = true;
  RedisLink* link = sequencer_->LinkOf(room);
  const std::string meta = RoomMetaKey(room);
  const std::string epoch = sequencer_->NewEpoch();
  const uint64_t deadline = loop_->NowMs() + opt_.deadline_ms;
  // A room Redis does not know yet gets its epoch now, so every node answers joins with it.
  const std::string_view create[] = {"HSETNX", meta, "epoch", epoch};
  link->Command(create, deadline, nullptr);
  ReadRules(room, deadline);  // answered before the HMGET: same link, in order
  const std::string_view head[] = {"HMGET", meta, "epoch", "seq"};
  link->Command(head, deadline, [this, room](const Reply& r) { OnHead(room, r); });
  // Its answer comes before the stream's: the joins held learn the fleet's count.
  if (room != chat::kGlobalRoom) ReportRoom(room);
}

void RedisRooms::OnHead(const std::string& room, const Reply& rep) {
  if (!follows_.contains(room)) return;
  if (rep.kind != Reply::kArray || rep.elements.size() != 2 ||
      rep.elements[0].kind != Reply::kString || rep.elements[0].str.empty()) {
    return FinishSync(room, false);
  }
  room::OwnerRoom* r = owner_->Rooms().GetOrCreate(room);
  if (!r) return FinishSync(room, false);
  // Redis is the one truth: a copy (this node's memory, or its local cache after a restart)
  // that disagrees with it is forgotten and read anew. Another epoch: the room started over.
  // A lower seq: Redis went back (restored from an older snapshot).
  uint64_t seq = 0;  // nil: nothing numbered yet
  std::string_view head_seq = rep.elements[1].str;
  if (rep.elements[1].kind == Reply::kString && !base::TakeU64(&head_seq, &seq)) {
    return FinishSync(room, false);
  }
  if (r->Epoch() != rep.elements[0].str && r->LastSeq() == 0) {
    // A new copy takes Redis's epoch; the local cache starts it over (it may have held an
    // earlier copy of the room, dropped since).
    owner_->ResetCopy(r, rep.elements[0].str);
  } else if (r->Epoch() != rep.elements[0].str) {
    Add(counters_.copy_resets, 1);
    owner_->ResetCopy(r, rep.elements[0].str);
  } else if (r->LastSeq() > seq) {
    ForgetCopy(r, "is ahead of Redis's seq");
  }
  // Read from the copy's last event on: the stream must show it as the copy has it.
  Follow& f = follows_[room];
  f.check_seq = r->LastSeq();
  ReadFrom(room, f.check_seq > 0 ? f.check_seq - 1 : 0);
}

void RedisRooms::ForgetCopy(room::OwnerRoom* r, const char* why) {
  RC_WARN(loop_->ShardId(), "redis: this node's copy of room %s (epoch %s, seq %llu) %s: read anew",
          r->Name().c_str(), r->Epoch().c_str(), static_cast<unsigned long long>(r->LastSeq()),
          why);
  Add(counters_.copy_resets, 1);
  owner_->ResetCopy(r, r->Epoch());
}

bool RedisRooms::CopyAgrees(room::OwnerRoom* r, Follow& f, const std::vector<StoredEvent>& events) {
  const uint64_t check = std::exchange(f.check_seq, 0);
  if (check == 0 || events.empty() || events.front().seq != check) return true;  // trimmed away
  const room::SequencedMsg* mine = r->Shown(check);
  if (mine == nullptr) return true;  // hidden since (its text is gone): nothing to compare
  room::SequencedMsg theirs;
  if (!DecodeMessage(events.front().payload, check, r->Epoch(), &theirs)) return true;
  if (theirs.json == mine->json) return true;
  ForgetCopy(r, "differs from Redis's event at its last seq");
  return false;
}

void RedisRooms::ReadFrom(const std::string& room, uint64_t after) {
  Add(counters_.reads, 1);
  sequencer_->Read(room, after, kReadPage, [this, room](bool ok, std::vector<StoredEvent> events) {
    OnRead(room, ok, std::move(events));
  });
}

void RedisRooms::OnRead(const std::string& room, bool ok, std::vector<StoredEvent> events) {
  auto it = follows_.find(room);
  if (it == follows_.end()) return;
  room::OwnerRoom* r = owner_->Rooms().Find(room);
  if (!ok || !r) return FinishSync(room, false);
  Add(counters_.stream_events, events.size());
  if (!CopyAgrees(r, it->second, events)) return ReadFrom(room, 0);
  for (const StoredEvent& ev : events) {
    if (ev.epoch == r->Epoch()) Apply(r, ev);
  }
  if (events.size() == kReadPage) return ReadFrom(room, r->LastSeq());
  FinishSync(room, true);
}

void RedisRooms::FinishSync(const std::string& room, bool ok) {
  Follow& f = follows_[room];
  f.syncing = false;
  if (ok && f.again) {
    f.again = false;
    return Sync(room);
  }
  f.again = false;
  room::OwnerRoom* r = owner_->Rooms().Find(room);
  if (ok && r) {
    // What the channel brought meanwhile, in seq order; the stream had most of it already.
    for (const auto& [seq, ev] : f.early) {
      if (ev.epoch == r->Epoch()) Apply(r, ev);
    }
    f.in_step = true;
    Add(counters_.repairs, 1);
  } else {
    RC_WARN(loop_->ShardId(),
            "redis: room %s not brought in step (Redis unreachable); "
            "answering from this node's copy until it is back",
            room.c_str());
    f.in_step = false;
  }
  f.early.clear();
  Release(room);
}

// Events come in seq order; a seq past a hole the stream no longer holds (trimmed by MAXLEN)
// is told to viewers as a gap.
void RedisRooms::Apply(room::OwnerRoom* r, const StoredEvent& ev) {
  if (ev.seq <= r->LastSeq()) return;
  if (ev.seq > r->LastSeq() + 1) {
    const uint64_t from = r->LastSeq() + 1;
    owner_->Deliver(r, room::SequencedMsg{ev.seq - 1, room::GapJson(r->Name(), from, ev.seq - 1),
                                          loop_->NowMs(), room::kEvLost, from});
  }
  room::SequencedMsg m;
  EventEffect effect;
  if (!DecodeMessage(ev.payload, ev.seq, r->Epoch(), &m, &effect)) {
    RC_WARN(loop_->ShardId(), "redis: room %s seq %llu: malformed event, told as a gap",
            r->Name().c_str(), static_cast<unsigned long long>(ev.seq));
    m = room::SequencedMsg{ev.seq, room::GapJson(r->Name(), ev.seq, ev.seq), 0, room::kEvLost,
                           ev.seq};
  }
  m.sequenced_ms = loop_->NowMs();
  owner_->Deliver(r, std::move(m), effect.kind == 'r' ? effect.target : 0, effect.kind == 'c');
}

void RedisRooms::Release(const std::string& room) {
  Follow& f = follows_[room];
  std::vector<Held> held;
  held.swap(f.held);
  f.releasing = true;
  for (Held& h : held) Replay(h);
  follows_[room].releasing = false;
  Settle(room);
}

// A held ask handed back to the owner (it is not held again: the copy is in step now, or the
// room's rules were just read).
void RedisRooms::Replay(Held& h) {
  if (auto* j = std::get_if<mesh::JoinReq>(&h.ask)) owner_->OnJoin(h.from, *j);
  if (auto* q = std::get_if<mesh::HistoryReq>(&h.ask)) owner_->OnHistory(h.from, *q);
  if (auto* m = std::get_if<mesh::ModerateReq>(&h.ask)) {
    owner_->OnModerate(h.from, *m, loop_->NowMs());
  }
  if (auto* x = std::get_if<mesh::RetractReq>(&h.ask))
    owner_->OnRetract(h.from, *x, loop_->NowMs());
  if (auto* p = std::get_if<mesh::PublishReq>(&h.ask))
    owner_->OnPublish(h.from, *p, loop_->NowMs());
}

}  // namespace roomcast::cluster
