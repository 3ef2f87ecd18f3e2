// What every protocol handler of a shard's sessions shares: the settings, the two seams (ConnOutput
// for bytes out, RoomClient for asks to rooms), the session table, the shard's metric counters,
// one WebSocket frame writer and one op parser, and the HTTP answer helpers (an answer's form and
// its CORS headers travel with each request as an AnswerForm). Shard thread only.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "access_records.h"
#include "auth/token_verifier.h"
#include "base/config.h"
#include "base/shard_metrics.h"
#include "chat/client_op.h"
#include "conn_output.h"
#include "http/http_parser.h"
#include "room/room_replica.h"
#include "room_client.h"
#include "session_table.h"
#include "ws/ws_frame.h"
#include "ws_deflate.h"

namespace roomcast::session {

// A blocked-term list (PUT /admin/terms, PUT /admin/rooms/R/terms) may be larger than any other
// request body: up to 1000 terms of 60 characters and 10 regexes of 260, as JSON.
inline constexpr size_t kMaxTermListBody = 512 * 1024;
// The body limit of a request: --max-body, or kMaxTermListBody for a term list.
[[nodiscard]] inline size_t MaxBodyOf(const http::Request& req, const Config& cfg) {
  const bool terms = req.method == "PUT" &&
                     (req.path == "/admin/terms" ||
                      (req.path.starts_with("/admin/rooms/") && req.path.ends_with("/terms")));
  return terms ? std::max<size_t>(cfg.max_body, kMaxTermListBody) : cfg.max_body;
}

// CORS: which Access-Control-Allow-Origin a request gets (an index into the context's table).
enum : uint8_t { kCorsNone = 0, kCorsAny = 1, kCorsFirstListed = 2, kCorsDenied = 255 };

// How an HTTP answer is given: keep the connection or close it after, and which CORS headers it
// carries. It travels with the request (through the owner and back, and with a parked poll), so
// no answer ever depends on which request was handled last.
struct AnswerForm {
  bool keep_alive;
  uint8_t cors;
  bool head_only = false;  // a HEAD request: the headers of the answer, no body
  [[nodiscard]] AnswerForm Closing() const { return {false, cors, head_only}; }
  static uint32_t Pack(AnswerForm a) {
    return (a.keep_alive ? 1u : 0u) | (static_cast<uint32_t>(a.cors) << 1) |
           (a.head_only ? 1u << 9 : 0u);
  }
  static AnswerForm Unpack(uint32_t t) {
    return {(t & 1) != 0, static_cast<uint8_t>(t >> 1), (t & (1u << 9)) != 0};
  }
};
using PollTag = AnswerForm;  // a long-poll's answer form, packed into JoinReq::tag

inline constexpr uint64_t kNoSince = mesh::kNoSince;
inline constexpr std::string_view kRoomRule = "room must be 1..64 bytes of [A-Za-z0-9_.:-]";
inline constexpr std::string_view kUserRule = "user must be 1..64 bytes of [A-Za-z0-9_.:-]";
inline constexpr std::string_view kEpochRule = "epoch must be 1..64 letters and digits";

// ?epoch=E (the epoch a resuming viewer's seqs belong to): 1..64 letters and digits, or absent
// (*epoch empty). False when present and malformed.
[[nodiscard]] bool ParseEpochParam(const http::Request& req, std::string* epoch);

// How a shard's sessions are set up (besides the Config).
struct SessionOptions {
  int shard = 0;
  int shards = 1;
  std::vector<uint8_t> cursor_key;  // signs long-poll cursors
  room::PacingPolicy pacing;        // the replicas' flush pacing on this shard
  // The keys user tokens are checked with, read once per token check (SIGHUP may replace them);
  // null, or holding null: none configured (every token is refused).
  const std::atomic<std::shared_ptr<const auth::TokenKeys>>* token_keys = nullptr;
  // The shard's access log (--access-log); null: off.
  AccessLogWriter* access_log = nullptr;
};

// Who a request names (Context::Authenticate): a user from a verified token (or, under
// --dev-auth, ?user=), an anonymous viewer, or nobody: the request was answered 400/401.
enum class Auth : uint8_t { kRefused, kAnonymous, kUser };

// Handlers call this when a connection that held input behind an answer may go on.
class HeldInput {
 public:
  virtual void ResumeHeldInput(ConnId c) = 0;

 protected:
  ~HeldInput() = default;
};

struct Context {
  Context(const Config& config, const SessionOptions& o, ConnOutput* output,
          RoomClient* room_client, ServerStatus* server, ShardMetrics* counters,
          HeldInput* held_input);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Session& Sess(ConnId c) { return table.Get(c); }
  // Marks the session closing and closes the connection.
  void CloseConn(ConnId c, CloseMode mode);

  // HTTP answers. RespondHttp queues the response and closes after it unless keep_alive.
  void RespondHttp(ConnId c, std::string response, bool keep_alive);
  // An answer queued by other means (an upgrade, a stream's head, a long-poll's answer, a
  // refusal at accept): counted for /metrics and written to the access log.
  void CountAnswer(ConnId c, int status);
  // The answer in form a: without its body for a HEAD request (Content-Length stays).
  void Respond(ConnId c, AnswerForm a, std::string response);
  void RespondError(ConnId c, AnswerForm a, int status, std::string_view code,
                    std::string_view message);
  // The form of an answer to input that is not a request (a malformed head): closing, with the
  // CORS headers every answer carries under --cors-origins '*'.
  [[nodiscard]] AnswerForm NoRequestForm() const;
  // CORS: the index for this request's Origin, and the header lines for an index.
  [[nodiscard]] uint8_t CorsIndex(const http::Request& req) const;
  [[nodiscard]] std::string_view CorsHeaders(uint8_t idx) const { return cors_headers_[idx]; }
  // A request that changes state (an upgrade, a send) from a browser page whose origin the
  // --cors-origins list does not allow, and that is not our own origin: refused with 403.
  [[nodiscard]] bool OriginRefused(const http::Request& req, AnswerForm a) const;

  // The settings SIGHUP may change (the admin key, the CORS list): rebuilds the CORS headers.
  // An answer already on its way keeps the CORS index it was given.
  void ApplyLiveSettings(std::string_view admin, std::string_view cors_origins);
  // A debug line for a refused request or op (status 0: a WebSocket error), at most 20 a second
  // per shard; the rest are counted and the next line says how many were left out.
  void NoteRefusal(ConnId c, int status_code, std::string_view code, std::string_view message);

  // Identity (identity.cc, PROTOCOL.md "Identity"): the token from `Authorization: Bearer` or
  // ?token=, verified once for this connection; under --dev-auth, ?user=NAME. A bad, expired or
  // foreign token (or a malformed ?user=) is answered 401 (400) with a close: kRefused.
  Auth Authenticate(ConnId c, const http::Request& req, AnswerForm a);
  // May this connection send messages: a named user, or anyone under --dev-auth.
  [[nodiscard]] bool MaySend(ConnId c) { return table.Profile(c) != nullptr || cfg.dev_auth; }
  // {"op":"refresh","token"}: a new token for the same user. kNone: the connection's user is
  // replaced; else *detail says why (a token for another user: kClaims).
  auth::TokenError Refresh(ConnId c, std::string_view token, std::string* detail);
  [[nodiscard]] static int64_t UnixSeconds();

  // Asks through the RoomClient. admin: a server-side publish (op.user, op.prio and op.msg_kind
  // count). cors: the answer form's, for an HTTP send (returned with the ack).
  void Publish(ConnId c, bool http, std::string_view room, const chat::ClientOp& op,
               bool admin = false, uint8_t cors = kCorsNone);
  void Retract(ConnId c, std::string_view room, uint64_t target, const chat::RetractBody& b,
               uint8_t cors);
  // A reaction by this connection (its user, or for an anonymous viewer the connection itself:
  // each has its own --react-rate-limit).
  void React(ConnId c, std::string_view room, std::string_view emote);
  // A moderation act by this connection's user (roles in the room), or by the admin key.
  void Moderate(ConnId c, bool http, std::string_view room, const chat::ModOp& op,
                bool by_admin_key, uint8_t cors = kCorsNone);
  // An owner's refusal as an HTTP error: its status and code, and for one that passes
  // (retry_ms > 0) "retry_ms" in the body and a Retry-After header (whole seconds, rounded up).
  void RespondRefusal(ConnId c, AnswerForm a, chat::Refusal r, uint64_t retry_ms);

  const Config& cfg;
  const int shard;
  const int shards;
  // The access log's record of each connection's request (declared before `out`: with the log
  // on, the sessions write through its byte-counting output).
  AccessRecords access;
  ConnOutput& out;
  RoomClient& rooms;
  ServerStatus& status;
  ShardMetrics& metrics;
  HeldInput& held;
  SessionTable table;
  ws::FrameWriter writer;
  WsDeflate deflate{cfg, &metrics};  // permessage-deflate (--deflate)
  chat::ClientOpParser op_parser;
  chat::TextLimits text_limits;
  http::ParseLimits http_limits;
  uint32_t clock_s = 0;   // the shard's clock, whole seconds since start
  bool draining = false;  // a stop was requested: no new viewers, connections close after answers
  std::string admin_key;  // --admin-key, as last reloaded

 private:
  // The verifier with the keys in force now; null when no key is configured (identity.cc).
  auth::TokenVerifier* Verifier();

  const std::atomic<std::shared_ptr<const auth::TokenKeys>>* token_keys_;
  auth::TokenVerifier verifier_{nullptr};
  std::vector<std::string> cors_headers_;  // by CORS index
  std::vector<std::string> cors_list_;     // --cors-origins, from index kCorsFirstListed
  std::string cors_origins_;               // --cors-origins, as last reloaded
  uint64_t refusal_window_s_ = 0;          // the second refusal_lines_ counts in
  uint32_t refusal_lines_ = 0;
  uint64_t refusals_unlogged_ = 0;
};

}  // namespace roomcast::session
