#include "session/session_table.h"

#include <algorithm>

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
  if (s.user_len > 0) {
    user_names_[s.user].clear();
    user_names_[s.user].shrink_to_fit();
    free_user_slots_.push_back(s.user);
  }
  const uint32_t gen = s.gen;
  s = Session{};
  s.gen = gen;  // an answer still in flight for this connection will not match
}

std::string SessionTable::UserName(ConnId c) {
  const Session& s = Get(c);
  if (s.user_len > 0) return user_names_[s.user];
  return "anon-" + std::to_string(shard_) + "-" + std::to_string(c) + "-" + std::to_string(s.gen);
}

void SessionTable::SetUser(ConnId c, const std::string& user) {
  Session& s = Get(c);
  if (s.user_len > 0) {
    user_names_[s.user] = user;  // reuse this connection's slot
  } else if (!free_user_slots_.empty()) {
    s.user = free_user_slots_.back();
    free_user_slots_.pop_back();
    user_names_[s.user] = user;
  } else {
    s.user = static_cast<uint32_t>(user_names_.size());
    user_names_.push_back(user);
  }
  s.user_len = static_cast<uint16_t>(user.size());
}

PendingInput& SessionTable::Pending(Session& s) {
  if (!s.pending) s.pending = std::make_unique<PendingInput>();
  return *s.pending;
}

}  // namespace roomcast::session
