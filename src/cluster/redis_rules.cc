// RedisRooms, moderation across nodes (docs/cluster.md, "Moderation"): the gate a user's send
// passes in the publish script (bans, the rate limit, slow mode), the rules hash a room's rules
// live in (read when a node starts following the room, or before it checks a send to a room it
// does not follow; changed by the act script, whose changes come on the room's channel as
// not-numbered messages), and the moderation events numbered like messages.
#include <charconv>
#include <cstdio>

#include "auth/roles.h"
#include "base/log.h"
#include "cluster/event_codec.h"
#include "cluster/redis_rooms.h"
#include "room/room_moderation.h"

namespace roomcast::cluster {

namespace {

constexpr size_t kMaxHeldSends = 10000;   // sends waiting per room for its rules
constexpr size_t kMaxEarlyRules = 1000;   // changes told while the rules are being read
constexpr uint64_t kRulesFreshMs = 1000;  // a room not followed: its rules read at most this often
constexpr uint64_t kRulesForgetMs = 10000;  // ... and forgotten when unused this long
// A room's rules hash holds at most this many bans (and its modes and terms).
constexpr uint32_t kMaxBans = 10000;

void Add(std::atomic<uint64_t>* c, uint64_t n) {
  c->store(c->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

owner::SharedAnswer ToAnswer(const PublishResult& res) {
  owner::SharedAnswer a;
  a.seq = res.seq;
  switch (res.status) {
    case PublishResult::kSequenced:
      a.status = owner::SharedAnswer::kDone;
      break;
    case PublishResult::kDuplicate:
      a.status = owner::SharedAnswer::kDuplicate;
      break;
    case PublishResult::kRefused:
      a.status = owner::SharedAnswer::kFull;
      break;
    case PublishResult::kShadow:
      a.status = owner::SharedAnswer::kNoSuchField;
      break;
    default:
      a.status = owner::SharedAnswer::kUnavailable;
  }
  return a;
}

}  // namespace

Gate RedisRooms::GateOf(const room::PublishInput& in) {
  Gate g;
  if (in.ungated) return g;
  g.ban_field = "b:" + std::string(in.user);
  char tag[17];
  std::snprintf(tag, sizeof(tag), "%016llx",
                static_cast<unsigned long long>(room::UserTag(in.user)));
  g.user_key = tag;
  const room::ModPolicy& policy = owner_->Policy();
  const room::RateSpec& rate = auth::CanModerate(in.roles) ? policy.mod_rate : policy.rate;
  g.rate_n = rate.count;
  g.rate_ms = uint64_t{rate.secs} * 1000;
  g.slow = !room::ModeExempt(in.roles);
  return g;
}

void RedisRooms::AnswerGate(const PublishResult& res, const std::string& room,
                            mesh::AckReply* ack) {
  owner_->NoteRefused();
  if (res.status == PublishResult::kShadow) {
    // Banned in the shadow (this node's copy of the rules had not heard of it yet): acked as
    // sent, never numbered, shown to nobody.
    const room::OwnerRoom* r = owner_->Rooms().Find(room);
    ack->seq = r ? r->LastSeq() : 0;
    ack->id = ack->cid.empty() ? "shadow-" + std::to_string(loop_->NowMs()) : ack->cid;
    return;
  }
  ack->retry_ms = res.retry_ms;
  ack->refusal = res.error == "banned"         ? chat::Refusal::kBanned
                 : res.error == "rate_limited" ? chat::Refusal::kRateLimited
                 : res.error == "slow_mode"    ? chat::Refusal::kSlowMode
                                               : chat::Refusal::kRedisUnavailable;
}

bool RedisRooms::HoldModerate(int from, mesh::ModerateReq& req) { return HoldAsk(from, req); }

bool RedisRooms::HoldRetract(int from, mesh::RetractReq& req) { return HoldAsk(from, req); }

// A send is checked against this node's copy of the room's rules (modes, blocked terms; the
// publish script checks bans, the rate limit and slow mode): a followed room's copy is kept in
// step by its channel; another's is read again when older than kRulesFreshMs.
bool RedisRooms::HoldPublish(int from, mesh::PublishReq& req) {
  if (req.admin) return false;  // no moderation check
  auto f = follows_.find(req.room);
  if (f != follows_.end() && f->second.rules_known) return false;
  RulesRead& rr = rules_reads_[req.room];
  const uint64_t now = loop_->NowMs();
  if (!rr.pending && now < rr.read_ms + kRulesFreshMs) return false;
  // Redis cannot be reached: the send goes on (and is refused `unavailable` by the script).
  if (!sequencer_->LinkOf(req.room)->Ready() || rr.held.size() >= kMaxHeldSends) return false;
  rr.held.push_back(Held{from, mesh::Message(std::move(req)), now});
  if (!rr.pending) {
    rr.pending = true;
    const std::string room = std::get<mesh::PublishReq>(rr.held.back().ask).room;
    sequencer_->ReadRules(room, now + opt_.deadline_ms, [this, room](bool ok, auto fields) {
      OnRulesRead(room, ok, std::move(fields));
    });
  }
  return true;
}

void RedisRooms::OnRulesRead(const std::string& room, bool ok,
                             std::vector<std::pair<std::string, std::string>> fields) {
  auto it = rules_reads_.find(room);
  if (it == rules_reads_.end()) return;
  auto f = follows_.find(room);
  // A followed room's copy is newer than this read may be (its changes come on the channel).
  if (ok && (f == follows_.end() || !f->second.rules_known)) {
    owner_->ResetSharedRules(room, fields);
  }
  it->second.pending = false;
  it->second.read_ms = loop_->NowMs();  // also when it failed: the script refuses those sends
  std::vector<Held> held;
  held.swap(it->second.held);
  for (Held& h : held) Replay(h);
}

void RedisRooms::SweepRulesReads(uint64_t now_ms) {
  if (now_ms < rules_swept_ms_ + 1000) return;
  rules_swept_ms_ = now_ms;
  std::erase_if(rules_reads_, [now_ms](const auto& kv) {
    return !kv.second.pending && now_ms > kv.second.read_ms + kRulesForgetMs;
  });
}

void RedisRooms::ReadRules(const std::string& room, uint64_t deadline) {
  follows_[room].rules_pending = true;
  sequencer_->ReadRules(
      room, deadline, [this, room](bool ok, auto fields) { OnRules(room, ok, std::move(fields)); });
}

void RedisRooms::OnRules(const std::string& room, bool ok,
                         std::vector<std::pair<std::string, std::string>> fields) {
  auto it = follows_.find(room);
  if (it == follows_.end()) return;
  Follow& f = it->second;
  f.rules_pending = false;
  f.rules_known = ok;
  std::vector<std::string> early;
  early.swap(f.early_rules);
  if (!ok) return;
  owner_->ResetSharedRules(room, fields);
  // Told while the read was under way: applied after it (a change the read already had is
  // applied twice, to the same end).
  for (const std::string& change : early) OnRuleChange(room, change);
}

// "<op>\n<field>\n<value>" (the act script's): op 's' set, 'd' removed.
void RedisRooms::OnRuleChange(const std::string& room, std::string_view change) {
  auto it = follows_.find(room);
  if (it == follows_.end()) return;
  Follow& f = it->second;
  if (f.rules_pending) {
    if (f.early_rules.size() < kMaxEarlyRules) {
      f.early_rules.emplace_back(change);
    } else {
      f.rules_known = false;  // too many to keep: the next send reads the rules again
    }
    return;
  }
  const size_t a = change.find('\n');
  const size_t b = a == std::string_view::npos ? a : change.find('\n', a + 1);
  if (b == std::string_view::npos || a != 1 || (change[0] != 's' && change[0] != 'd')) {
    RC_WARN(loop_->ShardId(), "redis: room %s: a rules change not understood, dropped",
            room.c_str());
    return;
  }
  owner_->ApplySharedRule(room, change[0], change.substr(a + 1, b - a - 1), change.substr(b + 1));
  // This node's rules for a room it sends to without following it are as new now.
  if (auto r = rules_reads_.find(room); r != rules_reads_.end() && !r->second.pending) {
    r->second.read_ms = loop_->NowMs();
  }
}

void RedisRooms::PublishEvent(std::string_view room, const std::string& json, char kind,
                              uint64_t target, int64_t ts_ms, const std::string& dedup,
                              owner::SharedCallback cb) {
  std::string payload;
  if (!EncodeEvent(json, kind, target, ts_ms, &payload)) {
    RC_WARN(loop_->ShardId(), "redis: a moderation event of room %.*s could not be encoded",
            static_cast<int>(room.size()), room.data());
    return cb(owner::SharedAnswer{});
  }
  Add(counters_.publishes, 1);
  sequencer_->Publish(room, dedup, payload, Gate{},
                      [cb = std::move(cb)](const PublishResult& res) { cb(ToAnswer(res)); });
}

void RedisRooms::ChangeRule(std::string_view room, const std::string& field,
                            const std::string& value, bool remove, const std::string& event_json,
                            int64_t ts_ms, owner::SharedCallback cb) {
  std::string payload;
  if (!event_json.empty() && !EncodeEvent(event_json, 'e', 0, ts_ms, &payload)) {
    return cb(owner::SharedAnswer{});
  }
  RuleChange change{field, value, remove, kMaxBans + 2};
  sequencer_->Act(
      room, change, payload,
      [this, room = std::string(room), change, cb = std::move(cb)](const PublishResult& res) {
        // A followed room's rules change by its channel, in Redis's order; another
        // room's copy takes the change now (and is read again within a second).
        auto f = follows_.find(room);
        if (res.status == PublishResult::kSequenced &&
            (f == follows_.end() || !f->second.rules_known)) {
          owner_->ApplySharedRule(room, change.remove ? 'd' : 's', change.field, change.value);
        }
        cb(ToAnswer(res));
      });
}

}  // namespace roomcast::cluster
