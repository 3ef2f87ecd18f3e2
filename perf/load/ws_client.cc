// Client framing, the upgrade exchange and the message stamp.
#include "ws_client.h"

#include <cstring>
#include <iterator>

namespace roomcast::load {

namespace {

// Parses decimal digits at s[*pos..]; false when there are none.
bool ParseDigits(std::string_view s, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  size_t i = *pos;
  const size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 20) {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == start) return false;
  *pos = i;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, std::string_view lit) {
  if (s.substr(*pos, lit.size()) != lit) return false;
  *pos += lit.size();
  return true;
}

void AppendDecimal(std::string* out, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out->push_back(tmp[--n]);
}

}  // namespace

std::string UpgradeRequest(const Target& t, std::string_view room, std::string_view user) {
  std::string path;
  path.reserve(t.path.size() + room.size() + user.size() + 16);
  path += t.path;
  path += t.path.find('?') == std::string::npos ? '?' : '&';
  path += "room=";
  path += room;
  path += "&user=";
  path += user;
  return WebSocketUpgradeRequest(t, path);
}

std::string WebSocketUpgradeRequest(const Target& t, std::string_view request_target) {
  std::string r;
  r.reserve(256);
  r += "GET ";
  r += request_target;
  r += " HTTP/1.1\r\nHost: ";
  r += t.host_header;
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
       "User-Agent: roomcast-load\r\n";
  if (t.deflate && t.kind == TargetKind::kRoomcast) {
    r += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  }
  r += "\r\n";
  return r;
}

UpgradeStatus ParseUpgradeResponse(std::string_view buf, size_t* head_bytes) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return buf.size() > 16384 ? UpgradeStatus::kRefused : UpgradeStatus::kIncomplete;
  }
  *head_bytes = end + 4;
  if (buf.substr(0, 12) == "HTTP/1.1 101") return UpgradeStatus::kSwitched;
  return UpgradeStatus::kRefused;
}

void AppendClientFrame(std::string* out, WsOpcode op, std::string_view payload,
                       uint32_t mask_seed) {
  const size_t len = payload.size();
  out->push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  if (len < 126) {
    out->push_back(static_cast<char>(0x80 | len));
  } else if (len <= 0xffff) {
    out->push_back(static_cast<char>(0x80 | 126));
    out->push_back(static_cast<char>(len >> 8));
    out->push_back(static_cast<char>(len & 0xff));
  } else {
    out->push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      out->push_back(static_cast<char>((uint64_t{len} >> (8 * i)) & 0xff));
  }
  uint8_t mask[4];
  std::memcpy(mask, &mask_seed, 4);
  out->append(reinterpret_cast<const char*>(mask), 4);
  const size_t at = out->size();
  out->append(payload);
  char* p = out->data() + at;
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<char>(p[i] ^ mask[i & 3]);
}

void AppendSendOp(std::string* out, uint64_t send_ns, uint32_t pub, uint32_t counter,
                  uint32_t text_bytes, std::string_view cid_suffix) {
  *out += R"({"op":"send","cid":"p)";
  AppendDecimal(out, pub);
  out->push_back('-');
  AppendDecimal(out, counter);
  *out += cid_suffix;
  *out += R"(","text":")";
  AppendStampText(out, send_ns, pub, counter, text_bytes);
  *out += "\"}";
}

namespace {
bool g_words = false;  // SetStampPadding: set before the workers start, read-only afterwards

// Chat-like padding: words picked by a small hash of (pub, counter, position).
void AppendWords(std::string* out, size_t n, uint32_t pub, uint32_t counter) {
  static constexpr std::string_view kWords[] = {
      "goal",   "what",    "a",    "shot",    "from",   "the",    "left", "wing",
      "keeper", "had",     "no",   "chance",  "replay", "please", "lol",  "unreal",
      "match",  "tonight", "ref",  "offside", "VAR",    "yes",    "come", "on",
      "best",   "player",  "ever", "GG",      "hype",   "clip",   "that", "insane"};
  uint32_t h = pub * 2654435761u ^ counter * 40503u;
  const size_t end = out->size() + n;
  while (out->size() < end) {
    h = h * 1103515245u + 12345u;
    out->append(kWords[(h >> 16) % std::size(kWords)]);
    out->push_back(' ');
  }
  out->resize(end);
}
}  // namespace

void SetStampPadding(bool words) { g_words = words; }

void AppendStampText(std::string* out, uint64_t send_ns, uint32_t pub, uint32_t counter,
                     uint32_t text_bytes) {
  const size_t text_start = out->size();
  *out += "t=";
  AppendDecimal(out, send_ns);
  *out += " p=";
  AppendDecimal(out, pub);
  *out += " n=";
  AppendDecimal(out, counter);
  out->push_back(' ');
  const size_t stamp = out->size() - text_start;
  if (stamp < text_bytes && g_words) {
    AppendWords(out, text_bytes - stamp, pub, counter);
  } else if (stamp < text_bytes) {
    out->append(text_bytes - stamp, 'x');
  }
}

ServerKind Classify(std::string_view p) {
  constexpr std::string_view kType = R"({"type":")";
  if (p.substr(0, kType.size()) != kType) return ServerKind::kOther;
  const std::string_view rest = p.substr(kType.size());
  auto is = [&](std::string_view name) {
    return rest.size() > name.size() && rest.substr(0, name.size()) == name &&
           rest[name.size()] == '"';
  };
  if (is("msg")) return ServerKind::kMsg;
  if (is("ack")) return ServerKind::kAck;
  if (is("welcome")) return ServerKind::kWelcome;
  if (is("gap")) return ServerKind::kGap;
  if (is("error")) return ServerKind::kError;
  if (is("pong")) return ServerKind::kPong;
  return ServerKind::kOther;
}

bool ParseMsgStamp(std::string_view p, Stamp* out) {
  constexpr std::string_view kKey = R"("text":")";
  // The text follows room, seq, id and user: start looking past {"type":"msg","room":"
  const size_t from = p.size() > 24 ? 24 : 0;
  const void* hit = memmem(p.data() + from, p.size() - from, kKey.data(), kKey.size());
  if (!hit) return false;
  const size_t pos = static_cast<size_t>(static_cast<const char*>(hit) - p.data()) + kKey.size();
  return ParseStampText(p.substr(pos), out);
}

bool ParseStampText(std::string_view p, Stamp* out) {
  size_t pos = 0;
  uint64_t t = 0, pub = 0, n = 0;
  if (!Expect(p, &pos, "t=") || !ParseDigits(p, &pos, &t) || !Expect(p, &pos, " p=") ||
      !ParseDigits(p, &pos, &pub) || !Expect(p, &pos, " n=") || !ParseDigits(p, &pos, &n)) {
    return false;
  }
  out->send_ns = t;
  out->pub = static_cast<uint32_t>(pub);
  out->counter = static_cast<uint32_t>(n);
  return true;
}

bool ParseAckCid(std::string_view p, std::string_view suffix, uint32_t* pub_out,
                 uint32_t* counter) {
  constexpr std::string_view kKey = R"("cid":"p)";
  const void* hit = memmem(p.data(), p.size(), kKey.data(), kKey.size());
  if (!hit) return false;
  size_t pos = static_cast<size_t>(static_cast<const char*>(hit) - p.data()) + kKey.size();
  uint64_t pub = 0, n = 0;
  if (!ParseDigits(p, &pos, &pub) || !Expect(p, &pos, "-") || !ParseDigits(p, &pos, &n) ||
      !Expect(p, &pos, suffix) || !Expect(p, &pos, "\"")) {
    return false;
  }
  *pub_out = static_cast<uint32_t>(pub);
  *counter = static_cast<uint32_t>(n);
  return true;
}

}  // namespace roomcast::load
