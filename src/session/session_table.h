// The session table: one fixed-size record per connection slot of a shard (what the connection is
// now, its flags, its room, its user), the per-shard interning of user profiles (connections
// with the same verified identity share one; it goes with its last connection), and the input held
// while a request or frame is incomplete. Records are allocated in chunks on first use and
// indexed by the loop's connection id; a record's generation outlives the connection so that an
// answer meant for an earlier connection in the same slot is recognised. Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/roles.h"

namespace roomcast::session {

using ConnId = uint32_t;
inline constexpr uint32_t kNoReplica = UINT32_MAX;  // == room::kNoReplica

// What a connection is now. An HTTP connection becomes a WebSocket or SSE viewer for good; a
// long-poll is an HTTP connection that waits for its room (joining, then parked) and is HTTP
// again once answered.
enum class SessKind : uint8_t {
  kFree,
  kHttp,
  kWsJoining,
  kWs,
  kRefused,
  kPollJoining,  // asked the owner for what follows its cursor
  kPollParked,   // at the room's head: in the replica's pollers until a batch or its deadline
  kSseJoining,
  kSse,
};

enum : uint8_t {
  kSawRequest = 1 << 0,   // an HTTP request head arrived on this connection
  kAwaitingAck = 1 << 1,  // an HTTP send waits for the owner's answer; input is held meanwhile
  kPinged = 1 << 2,       // a WebSocket ping is outstanding
  kClosingSess = 1 << 3,  // we decided to close; ignore further input
  kDeflateSess = 1 << 4,  // a WebSocket that negotiated permessage-deflate (ws_deflate.h)
};

// Input that could not be handled yet: an incomplete HTTP head or WebSocket frame, held input
// behind a pending request, a fragmented message. Exists only while needed.
struct PendingInput {
  std::string input;
  std::string fragments;
  bool assembling = false;
  bool compressed = false;  // the fragmented message is permessage-deflate compressed (RSV1)
  // An incomplete HTTP request is held: since shard clock second since_s, when its first bytes
  // came. It must be whole within --handshake-timeout-secs however slowly its bytes trickle in.
  bool partial_request = false;
  uint32_t since_s = 0;
};

// A user as this shard knows it: a verified token's identity (or --dev-auth's ?user=, no roles,
// exp 0), with its badges as JSON ready for its messages. Shared by every connection that names
// the same identity (same token claims), counted.
struct UserProfile {
  auth::Identity id;
  std::string badges_json;  // ["a","b"]; empty when the identity has no badges
  std::string key;          // the interning key
  uint32_t refs = 0;
};

// Fixed-size per-connection record (32 bytes), indexed by connection id.
struct Session {
  uint32_t gen = 0;
  SessKind kind = SessKind::kFree;
  uint8_t flags = 0;
  uint16_t has_user = 0;  // 0: anonymous ("anon-<shard>-<conn>-<gen>"); 1: `user` is its profile
  uint32_t replica = kNoReplica;
  uint32_t viewer_pos = 0;
  uint32_t last_active = 0;  // shard clock, seconds
  uint32_t user = 0;         // index into the table's profiles when has_user
  uint32_t told_online = 0;  // the room's online count this viewer was last told (welcome, state)
  std::unique_ptr<PendingInput> pending;
};

class SessionTable {
 public:
  explicit SessionTable(int shard) : shard_(shard) {}
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  Session& Get(ConnId c);
  // A new connection in slot c: a fresh kHttp record with the next generation.
  Session& Open(ConnId c, uint32_t now_s);
  // The connection in slot c is gone: its input and name are freed; the generation stays.
  void Release(ConnId c);
  // Slots ever used: every live connection is below this bound.
  [[nodiscard]] ConnId SlotBound() const { return max_slot_; }

  // The connection's user name (anonymous ones are made from shard, slot and generation).
  [[nodiscard]] std::string UserName(ConnId c);
  // Names the connection's user (replacing any before, e.g. on {"op":"refresh"}).
  void SetUser(ConnId c, auth::Identity id);
  void SetUser(ConnId c, const std::string& user);   // --dev-auth: a name, no roles, no expiry
  void ClearUser(ConnId c) { DropProfile(Get(c)); }  // anonymous again
  // The connection's profile; null for an anonymous connection.
  [[nodiscard]] const UserProfile* Profile(ConnId c);
  // Profiles alive (for tests and metrics).
  [[nodiscard]] size_t ProfileCount() const { return by_key_.size(); }

  // The record's held input, created on first use.
  static PendingInput& Pending(Session& s);

 private:
  int shard_;
  std::vector<std::unique_ptr<Session[]>> chunks_;
  ConnId max_slot_ = 0;
  void DropProfile(Session& s);

  std::vector<UserProfile> profiles_;  // by Session::user
  std::vector<uint32_t> free_profiles_;
  std::unordered_map<std::string, uint32_t> by_key_;
};

}  // namespace roomcast::session
