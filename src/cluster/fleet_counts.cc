#include "cluster/fleet_counts.h"

#include <algorithm>
#include <cstdio>

#include "cluster/room_shards.h"

namespace roomcast::cluster {

namespace {

// KEYS: online hash, minute-key prefix, total key (one hash slot: the room's braces).
// ARGV: node, count, ttl ms, viewers...
constexpr std::string_view kCountScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + ttl))
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local others = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local v = all[i + 1]
  local c = string.find(v, ':', 1, true)
  local exp = c and tonumber(string.sub(v, c + 1)) or 0
  if exp > now then
    if all[i] ~= ARGV[1] then others = others + (tonumber(string.sub(v, 1, c - 1)) or 0) end
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local minute = math.floor(tonumber(t[1]) / 60)
if #ARGV > 3 then
  local k = KEYS[2] .. minute
  redis.call('PFADD', k, unpack(ARGV, 4))
  redis.call('EXPIRE', k, 360)
  redis.call('PFADD', KEYS[3], unpack(ARGV, 4))
  redis.call('EXPIRE', KEYS[3], 604800)
end
local keys = {}
for m = minute - 4, minute do keys[#keys + 1] = KEYS[2] .. m end
return {others, redis.call('PFCOUNT', unpack(keys)), redis.call('PFCOUNT', KEYS[3])}
)lua";

// The hash of the room's online counts, one field per node.
std::string OnlineKey(std::string_view room) { return "rc:{" + std::string(room) + "}:o"; }

const std::string& ScriptSha() {
  static const std::string sha = ScriptSha1(kCountScript);
  return sha;
}

bool ToCount(const Reply& r, FleetCount* out) {
  if (r.kind != Reply::kArray || r.elements.size() != 3) return false;
  for (const Reply& e : r.elements) {
    if (e.kind != Reply::kInteger || e.integer < 0) return false;
  }
  out->others_online = static_cast<uint64_t>(r.elements[0].integer);
  out->unique_5m = static_cast<uint64_t>(r.elements[1].integer);
  out->unique_total = static_cast<uint64_t>(r.elements[2].integer);
  return true;
}

}  // namespace

FleetCounts::FleetCounts(std::vector<RedisLink*> links, std::string node, uint32_t ttl_ms)
    : links_(std::move(links)), node_(std::move(node)), ttl_ms_(ttl_ms) {}

void FleetCounts::Attach() {
  for (RedisLink* link : links_) LoadScriptOnReady(link, kCountScript);
}

void FleetCounts::Report(std::string_view room, std::string_view epoch, uint64_t online,
                         std::span<const uint64_t> viewers, uint64_t deadline_ms, Callback cb) {
  RedisLink* link = links_[InstanceOf(room, static_cast<uint32_t>(links_.size()))];
  const std::string prefix = "rc:{" + std::string(room) + "}:";
  const std::string online_key = OnlineKey(room);
  const std::string minute_prefix = prefix + "u:";
  const std::string total_key = prefix + "t:" + std::string(epoch);
  const std::string count = std::to_string(online);
  const std::string ttl = std::to_string(ttl_ms_);
  const size_t n = std::min(viewers.size(), kMaxViewersPerCall);
  // The viewers' 16-hex-digit hashes, all in one buffer.
  std::string hex(n * 16 + 1, '\0');
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(hex.data() + i * 16, 17, "%016llx", static_cast<unsigned long long>(viewers[i]));
  }
  std::vector<std::string_view> argv = {"EVALSHA", ScriptSha(), "3",   online_key, minute_prefix,
                                        total_key, node_,       count, ttl};
  for (size_t i = 0; i < n; ++i) argv.push_back(std::string_view(hex).substr(i * 16, 16));
  link->Command(argv, deadline_ms, [cb = std::move(cb)](const Reply& r) {
    FleetCount c;
    const bool ok = ToCount(r, &c);
    cb(ok, c);
  });
}

void FleetCounts::Leave(std::string_view room, uint64_t deadline_ms) {
  RedisLink* link = links_[InstanceOf(room, static_cast<uint32_t>(links_.size()))];
  const std::string key = OnlineKey(room);
  const std::string_view argv[] = {"HDEL", key, node_};
  link->Command(argv, deadline_ms, nullptr);
}

}  // namespace roomcast::cluster
