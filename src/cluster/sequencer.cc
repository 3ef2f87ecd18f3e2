#include "cluster/sequencer.h"

#include <openssl/sha.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "cluster/room_shards.h"

namespace roomcast::cluster {

namespace {

// KEYS: meta hash, stream, dedup key (or the meta key again when there is no cid).
// ARGV: deadline (Redis TIME, ms), maxlen, dedup secs, channel, payload, a new epoch, has cid.
constexpr std::string_view kPublishScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then return {0, 0, ''} end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if ARGV[7] == '1' and epoch then
  local prev = redis.call('GET', KEYS[3])
  if prev then return {2, tonumber(prev), epoch} end
end
if not epoch then
  epoch = ARGV[6]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', epoch, 'p', ARGV[5])
redis.call('PUBLISH', ARGV[4], seq .. ':' .. epoch .. ':' .. ARGV[5])
if ARGV[7] == '1' then redis.call('SET', KEYS[3], seq, 'EX', ARGV[3]) end
return {1, seq, epoch}
)lua";

std::string Sha1Hex(std::string_view text) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  std::string hex(SHA_DIGEST_LENGTH * 2, '0');
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) {
    hex[2 * i] = kHex[d[i] >> 4];
    hex[2 * i + 1] = kHex[d[i] & 15];
  }
  return hex;
}

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
                           : PublishResult::kLate;
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
  static const std::string sha = Sha1Hex(kPublishScript);
  return sha;
}

Sequencer::Sequencer(std::vector<RedisLink*> links, SequencerOptions opts)
    : links_(std::move(links)), opts_(opts) {
  std::random_device rd;
  epoch_counter_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

void Sequencer::Attach() {
  for (RedisLink* link : links_) {
    std::function<void()> before = link->on_ready;
    link->on_ready = [link, before] {
      if (before) before();
      const std::string_view argv[] = {"SCRIPT", "LOAD", kPublishScript};
      link->Command(argv, UINT64_MAX, nullptr);
    };
  }
}

RedisLink* Sequencer::LinkOf(std::string_view room) const {
  return links_[InstanceOf(room, static_cast<uint32_t>(links_.size()))];
}

void Sequencer::Publish(std::string_view room, std::string_view cid, std::string_view payload,
                        PublishCallback cb) {
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
  const std::string deadline = std::to_string(WallMs() + opts_.deadline_ms - opts_.deadline_ms / 4);
  const std::string maxlen = std::to_string(opts_.history);
  const std::string secs = std::to_string(opts_.dedup_secs);
  const std::string channel = RoomChannel(room);
  char epoch[17];
  std::snprintf(epoch, sizeof(epoch), "%016llx",
                static_cast<unsigned long long>(epoch_counter_ += 0x9E3779B97F4A7C15ull));
  const std::string_view argv[] = {"EVALSHA",
                                   ScriptSha(),
                                   "3",
                                   meta,
                                   stream,
                                   dedup,
                                   deadline,
                                   maxlen,
                                   secs,
                                   channel,
                                   payload,
                                   epoch,
                                   cid.empty() ? "0" : "1"};
  link->Command(argv, link->NowMs() + opts_.deadline_ms,
                [cb = std::move(cb)](const Reply& r) { cb(ToResult(r)); });
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
