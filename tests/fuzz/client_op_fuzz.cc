// Client op JSON: the WebSocket op, the HTTP send body, the admin publish body and the retraction
// body over arbitrary bytes. An accepted op obeys the protocol's rules (valid UTF-8, 1..max code
// points, no control character but '\n', cid and user ids, kind), and the text written back as
// JSON (json::AppendString, as the server does) parses to the same op. utf8::IsValid agrees with
// a plain reference decoder on the raw bytes.
#include <string>
#include <string_view>

#include "base/json_writer.h"
#include "base/utf8.h"
#include "chat/client_op.h"
#include "fuzz_check.h"

using roomcast::chat::ClientOp;
using roomcast::chat::ClientOpParser;
using roomcast::chat::OpError;
using roomcast::chat::OpKind;
using roomcast::chat::TextLimits;

namespace {

// RFC 3629 by the book: shortest form, no surrogates, at most U+10FFFF.
bool ReferenceUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    int extra;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      extra = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

bool IsId(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool KnownCode(std::string_view code) {
  return code.empty() || code == "bad_request" || code == "too_large" || code == "forbidden";
}

void CheckSendFields(const ClientOp& op, const TextLimits& limits) {
  FUZZ_CHECK(op.kind == OpKind::kSend);
  FUZZ_CHECK(roomcast::utf8::IsValid(op.text));
  const size_t cps = roomcast::utf8::CountCodePoints(op.text);
  FUZZ_CHECK(cps >= 1 && cps <= limits.max_code_points);
  FUZZ_CHECK(!roomcast::utf8::HasForbiddenControl(op.text));
  FUZZ_CHECK(op.cid.empty() || IsId(op.cid, limits.max_cid_bytes));
}

// A moderation op that parsed keeps within the protocol's limits.
void CheckModFields(const roomcast::chat::ModOp& m) {
  using roomcast::chat::ModAction;
  FUZZ_CHECK(m.user.empty() || IsId(m.user, 64));
  FUZZ_CHECK(m.secs <= 1209600);
  FUZZ_CHECK(!m.modes.slow_secs || *m.modes.slow_secs <= 86400);
  FUZZ_CHECK(roomcast::utf8::IsValid(m.reason) && roomcast::utf8::CountCodePoints(m.reason) <= 200);
  if (m.action == ModAction::kBan || m.action == ModAction::kUnban) FUZZ_CHECK(!m.user.empty());
  if (m.action == ModAction::kMode) FUZZ_CHECK(!m.modes.Empty());
  if (m.action == ModAction::kDelete) FUZZ_CHECK(m.seq >= 1);
  if (m.action == ModAction::kAllow || m.action == ModAction::kDeny) FUZZ_CHECK(m.held_id >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ClientOpParser parser;  // one per shard, reused across messages
  if (size == 0) return 0;
  const uint8_t which = data[0];
  const std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  TextLimits limits;
  limits.max_code_points = (which & 0x10) != 0 ? 500 : 1 + (which >> 5);
  limits.max_cid_bytes = (which & 0x08) != 0 ? 64 : 4;

  FUZZ_CHECK(roomcast::utf8::IsValid(json) == ReferenceUtf8(json));

  ClientOp op;
  OpError err;
  switch (which & 3) {
    case 0:
      err = parser.ParseWsOp(json, limits, &op);
      break;
    case 1:
      err = parser.ParseHttpSend(json, limits, &op);
      break;
    case 2:
      err = parser.ParseAdminPublish(json, limits, &op);
      break;
    default: {
      roomcast::chat::RetractBody body;
      err = parser.ParseRetract(json, &body);
      FUZZ_CHECK(KnownCode(err.code));
      if (err.code.empty()) {
        FUZZ_CHECK(roomcast::utf8::IsValid(body.reason));
        FUZZ_CHECK(roomcast::utf8::CountCodePoints(body.reason) <= 200);
        FUZZ_CHECK(IsId(body.by, 64));
      }
      return 0;
    }
  }
  FUZZ_CHECK(KnownCode(err.code));
  if (!err.code.empty()) {
    FUZZ_CHECK(!err.message.empty());
    return 0;
  }
  const bool is_send = (which & 3) != 0 || op.kind == OpKind::kSend;
  if (!is_send) {
    if (op.kind == OpKind::kModerate) CheckModFields(op.mod);
    if (op.kind == OpKind::kReact) {
      FUZZ_CHECK(!op.emoji.empty() && op.emoji.size() <= 32 && roomcast::utf8::IsValid(op.emoji));
    }
    return 0;
  }
  CheckSendFields(op, limits);
  if ((which & 3) == 2) {
    FUZZ_CHECK(IsId(op.user, 64));
    FUZZ_CHECK(op.msg_kind.size() <= 32);
  }

  // Written back as the server writes JSON, the op parses to itself.
  std::string again = (which & 3) == 0 ? R"({"op":"send","text":)" : R"({"text":)";
  roomcast::json::AppendString(&again, op.text);
  if (!op.cid.empty()) {
    again += R"(,"cid":)";
    roomcast::json::AppendString(&again, op.cid);
  }
  again += '}';
  ClientOp back;
  const OpError err2 = (which & 3) == 0 ? parser.ParseWsOp(again, limits, &back)
                                        : parser.ParseHttpSend(again, limits, &back);
  FUZZ_CHECK(err2.code.empty());
  FUZZ_CHECK(back.kind == OpKind::kSend && back.text == op.text && back.cid == op.cid);
  return 0;
}
