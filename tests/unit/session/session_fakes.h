// Fakes for driving session::Sessions with byte strings: a ConnOutput that keeps what each
// connection was sent and how it was closed, a RoomClient that records every ask until the test
// answers it, and a harness holding a Sessions over both. Shared by the handler tests and the
// session fuzz target.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/shard_metrics.h"
#include "session/sessions.h"

namespace roomcast::session::testing {

class FakeOutput final : public ConnOutput {
 public:
  struct Conn {
    std::string sent;  // every byte queued, in order
    bool closed = false;
    bool aborted = false;
    bool gone = false;  // the loop reported it closed (Harness::Closed) and nobody reused it
  };
  uint32_t QueuedBytes(room::ViewerId /*v*/) override { return queued_bytes; }
  void Enqueue(room::ViewerId v, SharedBuf* buf) override { Write(v, buf->bytes); }
  uint32_t DropUnsent(room::ViewerId, uint64_t* first, uint64_t* last) override {
    *first = *last = 0;
    return 0;
  }
  void CloseSlow(room::ViewerId v) override { Close(v, CloseMode::kAbort); }
  void EnqueueCopy(ConnId c, std::string bytes) override { Write(c, bytes); }
  void Close(ConnId c, CloseMode mode) override {
    conns[c].closed = true;
    if (mode == CloseMode::kAbort) conns[c].aborted = true;
  }
  [[nodiscard]] uint64_t NowMs() const override { return now_ms; }

  void Write(ConnId c, std::string_view bytes) {
    Conn& conn = conns[c];
    if (conn.gone) ++writes_after_close;
    conn.sent += bytes;
  }

  // What c was sent since the last Take.
  std::string Take(ConnId c) {
    std::string s = std::move(conns[c].sent);
    conns[c].sent.clear();
    return s;
  }

  std::map<ConnId, Conn> conns;
  uint64_t writes_after_close = 0;  // bytes queued on a connection the loop had closed
  uint64_t now_ms = 1000;
  uint32_t queued_bytes = 0;  // what every connection's queue reports
};

class FakeRooms final : public RoomClient, public ServerStatus {
 public:
  void Publish(mesh::PublishReq&& ask) override { publishes.push_back(std::move(ask)); }
  void Retract(mesh::RetractReq&& ask) override { retracts.push_back(std::move(ask)); }
  void Moderate(mesh::ModerateReq&& ask) override { moderates.push_back(std::move(ask)); }
  void Join(mesh::JoinReq&& ask) override { joins.push_back(std::move(ask)); }
  void Leave(mesh::LeaveReq&& ask) override { leaves.push_back(std::move(ask)); }
  void History(mesh::HistoryReq&& ask) override { histories.push_back(std::move(ask)); }
  void React(mesh::ReactReq&& ask) override { reacts.push_back(std::move(ask)); }
  void RoomStats(mesh::RoomStatsReq&& ask) override { room_stats.push_back(std::move(ask)); }
  void ReportLag(mesh::LagReport&& rep) override { lag_reports.push_back(std::move(rep)); }
  [[nodiscard]] bool LogWritable() const override { return log_writable; }
  [[nodiscard]] bool DrainNoticed() const override { return false; }
  [[nodiscard]] std::string RenderMetrics() override { return "roomcast_test 1\n"; }

  std::vector<mesh::PublishReq> publishes;
  std::vector<mesh::RetractReq> retracts;
  std::vector<mesh::ModerateReq> moderates;
  std::vector<mesh::JoinReq> joins;
  std::vector<mesh::LeaveReq> leaves;
  std::vector<mesh::HistoryReq> histories;
  std::vector<mesh::ReactReq> reacts;
  std::vector<mesh::RoomStatsReq> room_stats;
  std::vector<mesh::LagReport> lag_reports;
  bool log_writable = true;
};

// The settings the tests run with: ?user=NAME names a user (--dev-auth), as in the e2e fixtures.
inline Config DevAuthConfig() {
  Config c;
  c.dev_auth = true;
  return c;
}

struct Harness {
  explicit Harness(Config c = DevAuthConfig(),
                   std::shared_ptr<const auth::TokenKeys> keys = nullptr,
                   AccessLogWriter* access_log = nullptr)
      : cfg(std::move(c)) {
    SessionOptions o;
    o.access_log = access_log;
    o.cursor_key.assign(32, 7);
    token_keys.store(std::move(keys));
    o.token_keys = &token_keys;
    sessions = std::make_unique<Sessions>(cfg, o, &out, &rooms, &rooms, metrics.get());
  }
  void Accept(ConnId c) {
    out.conns[c] = FakeOutput::Conn{};
    sessions->OnAccept(c);
  }
  // The loop closed the connection (after Close, or the peer went): the slot is free.
  void Closed(ConnId c) {
    sessions->OnClosed(c);
    out.conns[c].gone = true;
  }
  void Recv(ConnId c, std::string_view bytes) {
    sessions->OnRecv(c, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  // The answer to the last join: the room at `head`, nobody else online, no history.
  mesh::JoinReply JoinAnswer(uint64_t head, bool counted = true) {
    const mesh::JoinReq& j = rooms.joins.back();
    mesh::JoinReply rep;
    rep.room = j.room;
    rep.to = j.to;
    rep.mode = j.mode;
    rep.tag = j.tag;
    rep.epoch = "E1";
    rep.head = head;
    rep.online = 1;
    rep.counted = counted;
    rep.last = head;
    return rep;
  }
  void Forward(std::string room, uint64_t seq, std::string json) {
    mesh::ForwardMsg f{std::move(room), room::SequencedMsg{}};
    f.msg.seq = seq;
    f.msg.json = std::move(json);
    f.msg.sequenced_ms = out.now_ms;
    sessions->OnForward(f);
  }
  // Lets time pass and runs what the loop runs before it sleeps (batches, poll deadlines).
  void Idle(uint64_t ms) {
    out.now_ms += ms;
    sessions->BeforeSleep(out.now_ms);
  }

  Config cfg;
  std::atomic<std::shared_ptr<const auth::TokenKeys>> token_keys;
  FakeOutput out;
  FakeRooms rooms;
  std::unique_ptr<ShardMetrics> metrics = std::make_unique<ShardMetrics>();
  std::unique_ptr<Sessions> sessions;
};

// A client's (masked) WebSocket frame: FIN, the opcode, a payload under 126 bytes.
inline std::string ClientFrame(uint8_t opcode, std::string_view payload) {
  const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {  // up to 64 KiB
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  }
  for (uint8_t m : mask) f += static_cast<char>(m);
  for (size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// A server's (unmasked) text frame.
inline std::string ServerText(std::string_view json) {
  std::string f = "\x81";
  if (json.size() < 126) {
    f += static_cast<char>(json.size());
  } else {
    f += static_cast<char>(126);
    f += static_cast<char>(json.size() >> 8);
    f += static_cast<char>(json.size() & 0xFF);
  }
  f += json;
  return f;
}

// Users from tokens (HS256 with kSecret): Keys() for the Harness, Token() for a query or header.
constexpr std::string_view kSecret = "unit-secret-0123456789";

inline std::shared_ptr<const auth::TokenKeys> Keys() {
  std::string err;
  return auth::TokenKeys::Load(std::string(kSecret), "", &err);
}

inline std::string Token(std::string_view sub, std::string_view extra = "", int64_t ttl = 600) {
  const int64_t exp = static_cast<int64_t>(std::time(nullptr)) + ttl;
  return auth::MintHs256(kSecret, R"({"sub":")" + std::string(sub) + R"(","exp":)" +
                                      std::to_string(exp) + std::string(extra) + "}");
}

inline std::string Upgrade(std::string_view query, std::string_view extra_header = "") {
  return "GET /ws?room=lobby" + std::string(query) +
         " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         std::string(extra_header) + "\r\n";
}

// Upgrades connection c and answers its join at head 5. Returns the status line of the answer
// to the upgrade ("HTTP/1.1 101 ..." when it was taken), for the caller to check.
inline std::string Join(Harness& h, ConnId c, const std::string& upgrade) {
  h.Accept(c);
  h.Recv(c, upgrade);
  std::string status = h.out.Take(c).substr(0, 12);
  mesh::JoinReply rep = h.JoinAnswer(5);
  h.sessions->OnAnswer(rep);
  h.out.Take(c);
  return status;
}

}  // namespace roomcast::session::testing
