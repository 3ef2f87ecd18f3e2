#include "access_records.h"

#include <cstdio>

namespace roomcast::session {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query key as http::QueryParam compares it: percent-decoded, '+' as a space.
std::string DecodedKey(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '+') {
      out += ' ';
    } else if (key[i] == '%' && i + 2 < key.size() && HexValue(key[i + 1]) >= 0 &&
               HexValue(key[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(key[i + 1]) * 16 + HexValue(key[i + 2]));
      i += 2;
    } else {
      out += key[i];
    }
  }
  return out;
}

void AppendEscaped(std::string* out, std::string_view s) {
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\') {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02X", u);
      *out += hex;
    } else {
      *out += ch;
    }
  }
}

// GET /ws: WebSocket; GET /rooms/R/events: SSE; GET /rooms/R/messages: long-poll.
Transport TransportOf(const http::Request& req) {
  const std::string_view p = req.path;
  if (p == "/ws") return Transport::kWs;
  constexpr std::string_view kRooms = "/rooms/", kEvents = "/events", kMessages = "/messages";
  if (req.method != "GET" || p.substr(0, kRooms.size()) != kRooms) return Transport::kHttp;
  auto ends = [&](std::string_view tail) {
    return p.size() > kRooms.size() + tail.size() && p.substr(p.size() - tail.size()) == tail;
  };
  if (ends(kEvents)) return Transport::kSse;
  if (ends(kMessages)) return Transport::kPoll;
  return Transport::kHttp;
}

}  // namespace

std::string LoggedTarget(std::string_view path, std::string_view query) {
  std::string out;
  AppendEscaped(&out, path);
  if (!query.empty()) {
    out += '?';
    bool first = true;
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (!first) out += '&';
      first = false;
      const size_t eq = param.find('=');
      const std::string_view key = param.substr(0, eq);
      AppendEscaped(&out, key);
      if (eq == std::string_view::npos) continue;
      out += '=';
      if (DecodedKey(key) == "token") {
        out += "<redacted>";
      } else {
        AppendEscaped(&out, param.substr(eq + 1));
      }
    }
  }
  if (out.size() > kMaxLoggedTarget) {
    out.resize(kMaxLoggedTarget - 3);
    out += "...";
  }
  return out;
}

// Forwards everything to the loop's output and counts what each connection is given.
class AccessRecords::CountingOutput final : public ConnOutput {
 public:
  CountingOutput(AccessRecords* records, ConnOutput* inner) : records_(*records), inner_(*inner) {}
  uint32_t QueuedBytes(room::ViewerId v) override { return inner_.QueuedBytes(v); }
  void Enqueue(room::ViewerId v, SharedBuf* buf) override {
    records_.AddBytes(v, buf->bytes.size());
    inner_.Enqueue(v, buf);
  }
  uint32_t DropUnsent(room::ViewerId v, uint64_t* first, uint64_t* last) override {
    const uint32_t before = inner_.QueuedBytes(v);
    const uint32_t kept = inner_.DropUnsent(v, first, last);
    const uint32_t after = inner_.QueuedBytes(v);
    if (before > after) records_.SubBytes(v, before - after);
    return kept;
  }
  void CloseSlow(room::ViewerId v) override { inner_.CloseSlow(v); }
  void EnqueueCopy(ConnId c, std::string bytes) override {
    records_.AddBytes(c, bytes.size());
    inner_.EnqueueCopy(c, std::move(bytes));
  }
  void Close(ConnId c, CloseMode mode) override { inner_.Close(c, mode); }
  [[nodiscard]] uint64_t NowMs() const override { return inner_.NowMs(); }

 private:
  AccessRecords& records_;
  ConnOutput& inner_;
};

AccessRecords::AccessRecords(AccessLogWriter* writer, SessionTable* table)
    : writer_(writer), table_(*table) {}

AccessRecords::~AccessRecords() = default;

ConnOutput* AccessRecords::Wrap(ConnOutput* inner) {
  inner_ = inner;
  if (writer_ == nullptr) return inner;
  counting_ = std::make_unique<CountingOutput>(this, inner);
  return counting_.get();
}

AccessRecords::Record& AccessRecords::At(ConnId c) {
  if (c >= records_.size()) records_.resize(static_cast<size_t>(c) + 1);
  return records_[c];
}

void AccessRecords::SubBytes(ConnId c, uint64_t n) {
  Record& r = At(c);
  r.bytes = r.bytes > n ? r.bytes - n : 0;
}

void AccessRecords::Begin(ConnId c, const http::Request& req) {
  if (writer_ == nullptr) return;
  Record& r = At(c);
  r.state = State::kOpen;
  r.start_ms = inner_->NowMs();
  r.bytes = 0;
  r.transport = TransportOf(req);
  r.request.clear();
  AppendEscaped(&r.request, req.method.substr(0, 16));
  r.method_len = static_cast<uint16_t>(r.request.size());
  r.request += ' ';
  r.request += LoggedTarget(req.path, req.query);
}

void AccessRecords::Answered(ConnId c, int status) {
  if (writer_ == nullptr) return;
  Record& r = At(c);
  if (r.state == State::kStream) return;
  const bool stream =
      r.state == State::kOpen && ((r.transport == Transport::kWs && status == 101) ||
                                  (r.transport == Transport::kSse && status == 200));
  if (stream) {
    r.state = State::kStream;
    r.status = static_cast<int16_t>(status);
    return;
  }
  Write(c, r, status);
}

void AccessRecords::Closed(ConnId c) {
  if (writer_ == nullptr || c >= records_.size()) return;
  Record& r = records_[c];
  if (r.state == State::kStream) {
    Write(c, r, r.status);
  } else if (r.state == State::kOpen) {
    Write(c, r, 499);  // the connection closed before its request was answered
  }
  r = Record{};
}

void AccessRecords::Write(ConnId c, Record& r, int status) {
  const uint64_t now = inner_->NowMs();
  AccessEntry e;
  if (r.state != State::kIdle) {
    e.method = std::string_view(r.request).substr(0, r.method_len);
    e.target = std::string_view(r.request).substr(r.method_len + 1u);
    e.duration_ms = now > r.start_ms ? now - r.start_ms : 0;
    e.transport = r.transport;
  }
  e.status = status;
  e.bytes = r.bytes;
  const UserProfile* p = table_.Profile(c);
  if (p != nullptr) e.user = p->id.sub;
  writer_->Add(e, now);
  r.state = State::kIdle;
  r.bytes = 0;
}

}  // namespace roomcast::session
