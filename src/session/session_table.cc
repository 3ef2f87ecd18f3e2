#include "session/session_table.h"

#include <algorithm>

#include "base/json_writer.h"

namespace roomcast::session {

namespace {
constexpr uint32_t kChunk = 1024;
}  // namespace

Session& SessionTable::Get(ConnId c) {
  const uint32_t chunk = c / kChunk;
  if (chunk >= chunks_.size()) chunks_.resize(chunk + 1);
  if (!chunks_[chunk]) chunks_[chunk] = std::make_unique<Session[]>(kChunk);
  return chunks_[chunk][c % kChunk];
}

Session& SessionTable::Open(ConnId c, uint32_t now_s) {
  Session& s = Get(c);
  const uint32_t gen = s.gen + 1;
  s = Session{};
  s.gen = gen;
  s.kind = SessKind::kHttp;
  s.last_active = now_s;
  max_slot_ = std::max(max_slot_, c + 1);
  return s;
}

void SessionTable::Release(ConnId c) {
  Session& s = Get(c);
  DropProfile(s);
  const uint32_t gen = s.gen;
  s = Session{};
  s.gen = gen;  // an answer still in flight for this connection will not match
}

void SessionTable::DropProfile(Session& s) {
  if (!s.has_user) return;
  s.has_user = 0;
  UserProfile& p = profiles_[s.user];
  if (--p.refs > 0) return;
  by_key_.erase(p.key);
  p = UserProfile{};
  free_profiles_.push_back(s.user);
}

std::string SessionTable::UserName(ConnId c) {
  const Session& s = Get(c);
  if (s.has_user) return profiles_[s.user].id.sub;
  return "anon-" + std::to_string(shard_) + "-" + std::to_string(c) + "-" + std::to_string(s.gen);
}

const UserProfile* SessionTable::Profile(ConnId c) {
  const Session& s = Get(c);
  return s.has_user ? &profiles_[s.user] : nullptr;
}

namespace {

// Everything an identity says, as one string: equal keys, equal profiles.
std::string KeyOf(const auth::Identity& id) {
  std::string k = id.sub;
  k += '\0';
  k += id.name;
  k += '\0';
  k += std::to_string(id.exp);
  k += '\0';
  k += static_cast<char>(id.roles);
  for (const auto& [room, roles] : id.room_roles) {
    k += '\1';
    k += room;
    k += static_cast<char>(roles);
  }
  for (const std::string& b : id.badges) {
    k += '\2';
    k += b;
  }
  return k;
}

std::string BadgesJson(const std::vector<std::string>& badges) {
  if (badges.empty()) return {};
  std::string j = "[";
  for (const std::string& b : badges) {
    if (j.size() > 1) j += ',';
    json::AppendString(&j, b);
  }
  j += ']';
  return j;
}

}  // namespace

void SessionTable::SetUser(ConnId c, auth::Identity id) {
  Session& s = Get(c);
  std::string key = KeyOf(id);
  if (s.has_user && profiles_[s.user].key == key) return;
  DropProfile(s);
  uint32_t idx;
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    idx = it->second;
  } else {
    if (!free_profiles_.empty()) {
      idx = free_profiles_.back();
      free_profiles_.pop_back();
    } else {
      idx = static_cast<uint32_t>(profiles_.size());
      profiles_.emplace_back();
    }
    UserProfile& p = profiles_[idx];
    p.badges_json = BadgesJson(id.badges);
    p.id = std::move(id);
    p.key = key;
    by_key_.emplace(std::move(key), idx);
  }
  ++profiles_[idx].refs;
  s.user = idx;
  s.has_user = 1;
}

void SessionTable::SetUser(ConnId c, const std::string& user) {
  auth::Identity id;
  id.sub = user;
  SetUser(c, std::move(id));
}

PendingInput& SessionTable::Pending(Session& s) {
  if (!s.pending) s.pending = std::make_unique<PendingInput>();
  return *s.pending;
}

}  // namespace roomcast::session
