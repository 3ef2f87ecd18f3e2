#include "cluster/sequencer.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "cluster/room_shards.h"

namespace roomcast::cluster {

namespace {

// KEYS: meta hash, stream, dedup key (or the meta key again when there is no cid), and for the
// moderation gate (or the meta key again): rules hash, rate window list, slow-mode key.
// ARGV: deadline (Redis TIME, ms), maxlen, dedup secs, channel, payload, a new epoch, has cid;
// the gate's: ban field ('' : no gate), rate count, rate window ms, slow mode applies ('1').
constexpr std::string_view kPublishScript =
    R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then return {0, 0, ''} end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if ARGV[7] == '1' and epoch then
  local prev = redis.call('GET', KEYS[3])
  if prev then return {2, tonumber(prev), epoch} end
end
)lua"
    // --- moderation across nodes (docs/cluster.md, "Moderation"): bans, rate limit, slow mode.
    // {3, retry_ms, code}: refused; {4, 0, 'shadow'}: a shadow ban (acked, never numbered).
    R"lua(
local gated = ARGV[8] ~= ''
local rate_n, rate_ms = tonumber(ARGV[9]), tonumber(ARGV[10])
local slow = 0
if gated then
  local ban = redis.call('HGET', KEYS[4], ARGV[8])
  if ban then
    local untl, shadow = string.match(ban, '^(%d+) (%d)$')
    untl = tonumber(untl) or 0
    if untl == 0 or untl > now then
      if shadow == '1' then return {4, 0, 'shadow'} end
      if untl == 0 then return {3, 0, 'banned'} end
      return {3, untl - now, 'banned'}
    end
    redis.call('HDEL', KEYS[4], ARGV[8])
  end
  if rate_n > 0 and redis.call('LLEN', KEYS[5]) >= rate_n then
    local oldest = tonumber(redis.call('LINDEX', KEYS[5], rate_n - 1))
    if oldest and oldest + rate_ms > now then return {3, oldest + rate_ms - now, 'rate_limited'} end
  end
  if ARGV[11] == '1' then
    slow = tonumber(string.match(redis.call('HGET', KEYS[4], 'm') or '0', '^(%d+)')) or 0
    if slow > 0 then
      local left = redis.call('PTTL', KEYS[6])
      if left > 0 then return {3, left, 'slow_mode'} end
    end
  end
end
)lua"
    // --- numbering.
    R"lua(
if not epoch then
  epoch = ARGV[6]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', epoch, 'p', ARGV[5])
redis.call('PUBLISH', ARGV[4], seq .. ':' .. epoch .. ':' .. ARGV[5])
if ARGV[7] == '1' then redis.call('SET', KEYS[3], seq, 'EX', ARGV[3]) end
)lua"
    // --- the gate's counts: this send uses a rate slot and the slow-mode interval.
    R"lua(
if gated and rate_n > 0 then
  redis.call('LPUSH', KEYS[5], now)
  redis.call('LTRIM', KEYS[5], 0, rate_n - 1)
  redis.call('PEXPIRE', KEYS[5], rate_ms)
end
if slow > 0 then redis.call('SET', KEYS[6], '1', 'PX', slow * 1000) end
return {1, seq, epoch}
)lua";

// A moderation act on a room's rules (docs/cluster.md, "Moderation"), and the event it numbers.
// KEYS: meta hash, stream, rules hash. ARGV: deadline, op ('s' set, 'd' delete), field, value,
// most fields the hash may hold, channel, event payload ('': none), maxlen, a new epoch.
// The change goes out on the room's channel as "0:<epoch>:<op>\n<field>\n<value>" (seq 0: not
// numbered), before the event; every node that follows the room applies it to its rules.
// {1, seq, epoch} done (seq 0 without an event); {3} the hash is full; {4} no such field.
constexpr std::string_view kActScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then return {0, 0, ''} end
if ARGV[2] == 'd' then
  if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 then return {4, 0, ''} end
elseif redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 and
       redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[5]) then
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do
    local untl = tonumber(string.match(all[i + 1], '^(%d+) %d$') or '0')
    if string.sub(all[i], 1, 2) == 'b:' and untl > 0 and untl <= now then
      redis.call('HDEL', KEYS[3], all[i])
    end
  end
  if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[5]) then return {3, 0, ''} end
end
if ARGV[2] == 's' then redis.call('HSET', KEYS[3], ARGV[3], ARGV[4]) end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[9]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
redis.call('PUBLISH', ARGV[6], '0:' .. epoch .. ':' .. ARGV[2] .. '\n' .. ARGV[3] .. '\n' .. ARGV[4])
if ARGV[7] == '' then return {1, 0, epoch} end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], seq .. '-0', 'e', epoch, 'p', ARGV[7])
redis.call('PUBLISH', ARGV[6], seq .. ':' .. epoch .. ':' .. ARGV[7])
return {1, seq, epoch}
)lua";

uint64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

PublishResult ToResult(const Reply& r) {
  PublishResult out;
  if (r.IsUnavailable() || r.IsTimeout()) {
    out.status = PublishResult::kUnavailable;
    out.error = r.str;
    return out;
  }
  if (r.kind != Reply::kArray || r.elements.size() != 3 || r.elements[0].kind != Reply::kInteger ||
      r.elements[1].kind != Reply::kInteger) {
    out.error = r.IsError() ? r.str : "unexpected reply to the publish script";
    return out;
  }
  const long long code = r.elements[0].integer;
  out.status = code == 1   ? PublishResult::kSequenced
               : code == 2 ? PublishResult::kDuplicate
               : code == 3 ? PublishResult::kRefused
               : code == 4 ? PublishResult::kShadow
                           : PublishResult::kLate;
  if (code == 3 || code == 4) {  // the gate's (or an act's) answer: retry_ms and a code
    out.retry_ms = static_cast<uint64_t>(std::max<long long>(0, r.elements[1].integer));
    out.error = r.elements[2].str;
    return out;
  }
  out.seq = static_cast<uint64_t>(r.elements[1].integer);
  out.epoch = r.elements[2].str;
  return out;
}

bool ToEvent(const Reply& entry, StoredEvent* ev) {
  if (entry.kind != Reply::kArray || entry.elements.size() != 2) return false;
  const std::string& id = entry.elements[0].str;
  const size_t dash = id.find('-');
  if (!ParseU64(std::string_view(id).substr(0, dash), &ev->seq)) return false;
  const Reply& fields = entry.elements[1];
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == "e") ev->epoch = fields.elements[i + 1].str;
    if (fields.elements[i].str == "p") ev->payload = fields.elements[i + 1].str;
  }
  return true;
}

}  // namespace

std::string RoomMetaKey(std::string_view room) { return "rc:{" + std::string(room) + "}:m"; }
std::string RoomStreamKey(std::string_view room) { return "rc:{" + std::string(room) + "}:s"; }
std::string RoomChannel(std::string_view room) { return "rc:{" + std::string(room) + "}:c"; }
std::string RoomRulesKey(std::string_view room) { return "rc:{" + std::string(room) + "}:r"; }

bool ParseChannelMessage(std::string_view msg, StoredEvent* out) {
  const size_t a = msg.find(':');
  if (a == std::string_view::npos) return false;
  const size_t b = msg.find(':', a + 1);
  if (b == std::string_view::npos || !ParseU64(msg.substr(0, a), &out->seq)) return false;
  out->epoch = std::string(msg.substr(a + 1, b - a - 1));
  out->payload = std::string(msg.substr(b + 1));
  return true;
}

const std::string& Sequencer::ScriptSha() {
  static const std::string sha = ScriptSha1(kPublishScript);
  return sha;
}

const std::string& Sequencer::ActScriptSha() {
  static const std::string sha = ScriptSha1(kActScript);
  return sha;
}

Sequencer::Sequencer(std::vector<RedisLink*> links, SequencerOptions opts)
    : links_(std::move(links)), opts_(opts) {
  std::random_device rd;
  epoch_counter_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

void Sequencer::Attach() {
  for (RedisLink* link : links_) {
    LoadScriptOnReady(link, kPublishScript);
    LoadScriptOnReady(link, kActScript);
  }
}

RedisLink* Sequencer::LinkOf(std::string_view room) const {
  return links_[InstanceOf(room, static_cast<uint32_t>(links_.size()))];
}

void Sequencer::Publish(std::string_view room, std::string_view cid, std::string_view payload,
                        const Gate& gate, PublishCallback cb) {
  RedisLink* link = LinkOf(room);
  const std::string meta = RoomMetaKey(room);
  const std::string stream = RoomStreamKey(room);
  const std::string dedup =
      cid.empty() ? meta : "rc:{" + std::string(room) + "}:d:" + std::string(cid);
  // The script's deadline comes a quarter earlier than the node's: the node answers
  // `unavailable` only once its own (loop-clock, possibly a turn stale) deadline has passed, and
  // by then Redis must already refuse the call, or a refused send could still be numbered (a
  // Redis stopped and resumed right after the refusal: test_redis_outage_...). The margin also
  // absorbs small wall-clock skew between the node and Redis.
  const std::string deadline = Deadline();
  const std::string maxlen = std::to_string(opts_.history);
  const std::string secs = std::to_string(opts_.dedup_secs);
  const std::string channel = RoomChannel(room);
  const std::string epoch = NewEpoch();
  const bool gated = !gate.ban_field.empty();
  const std::string rules = gated ? RoomRulesKey(room) : meta;
  const std::string user = "rc:{" + std::string(room) + "}:u:" + gate.user_key;
  const std::string rate_key = gated ? user + ":r" : meta;
  const std::string slow_key = gated ? user + ":w" : meta;
  const std::string rate_n = std::to_string(gated ? gate.rate_n : 0);
  const std::string rate_ms = std::to_string(gate.rate_ms);
  const std::string_view argv[] = {
      "EVALSHA",      ScriptSha(), "6",     meta,
      stream,         dedup,       rules,   rate_key,
      slow_key,       deadline,    maxlen,  secs,
      channel,        payload,     epoch,   cid.empty() ? "0" : "1",
      gate.ban_field, rate_n,      rate_ms, gated && gate.slow ? "1" : "0"};
  link->Command(argv, link->NowMs() + opts_.deadline_ms,
                [cb = std::move(cb)](const Reply& r) { cb(ToResult(r)); });
}

std::string Sequencer::NewEpoch() {
  char epoch[17];
  std::snprintf(epoch, sizeof(epoch), "%016llx",
                static_cast<unsigned long long>(epoch_counter_ += 0x9E3779B97F4A7C15ull));
  return epoch;
}

std::string Sequencer::Deadline() const {
  // See Publish: Redis refuses the call from 3/4 of the node's deadline on.
  return std::to_string(WallMs() + opts_.deadline_ms - opts_.deadline_ms / 4);
}

void Sequencer::Act(std::string_view room, const RuleChange& change, std::string_view event,
                    PublishCallback cb) {
  RedisLink* link = LinkOf(room);
  const std::string meta = RoomMetaKey(room);
  const std::string stream = RoomStreamKey(room);
  const std::string rules = RoomRulesKey(room);
  const std::string deadline = Deadline();
  const std::string max_fields = std::to_string(change.max_fields);
  const std::string channel = RoomChannel(room);
  const std::string maxlen = std::to_string(opts_.history);
  const std::string epoch = NewEpoch();
  const std::string_view op = change.remove ? "d" : "s";
  const std::string_view argv[] = {"EVALSHA",  ActScriptSha(), "3",   meta,         stream,
                                   rules,      deadline,       op,    change.field, change.value,
                                   max_fields, channel,        event, maxlen,       epoch};
  link->Command(argv, link->NowMs() + opts_.deadline_ms,
                [cb = std::move(cb)](const Reply& r) { cb(ToResult(r)); });
}

void Sequencer::ReadRules(std::string_view room, uint64_t deadline_ms, RulesCallback cb) {
  RedisLink* link = LinkOf(room);
  const std::string rules = RoomRulesKey(room);
  const std::string_view argv[] = {"HGETALL", rules};
  link->Command(argv, deadline_ms, [cb = std::move(cb)](const Reply& r) {
    std::vector<std::pair<std::string, std::string>> fields;
    if (r.kind != Reply::kArray) return cb(false, std::move(fields));
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      fields.emplace_back(r.elements[i].str, r.elements[i + 1].str);
    }
    cb(true, std::move(fields));
  });
}

void Sequencer::Read(std::string_view room, uint64_t after_seq, uint32_t max, ReadCallback cb) {
  RedisLink* link = LinkOf(room);
  const std::string stream = RoomStreamKey(room);
  const std::string start = std::to_string(after_seq + 1) + "-0";
  const std::string count = std::to_string(std::clamp<uint32_t>(max, 1, 1000));
  const std::string_view argv[] = {"XRANGE", stream, start, "+", "COUNT", count};
  link->Command(argv, link->NowMs() + opts_.deadline_ms, [cb = std::move(cb)](const Reply& r) {
    std::vector<StoredEvent> events;
    if (r.kind != Reply::kArray) return cb(false, std::move(events));
    events.reserve(r.elements.size());
    for (const Reply& entry : r.elements) {
      StoredEvent ev;
      if (!ToEvent(entry, &ev)) return cb(false, {});
      events.push_back(std::move(ev));
    }
    cb(true, std::move(events));
  });
}

}  // namespace roomcast::cluster
