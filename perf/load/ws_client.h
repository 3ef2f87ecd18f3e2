// The client side of the roomcast wire protocol, as cheap as it can be made: the upgrade request,
// masked client frames, a scanner for unmasked server frames, and the stamp a publisher puts at
// the start of every text ("t=<ns> p=<pub> n=<counter> " then padding) so that a viewer learns
// send time, sender and order without parsing JSON. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "options.h"

namespace roomcast::load {

enum class WsOpcode : uint8_t {
  kCont = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10
};

// "GET <request_target> HTTP/1.1 ..." asking for a WebSocket upgrade, with a fixed
// Sec-WebSocket-Key (servers only check its form).
[[nodiscard]] std::string WebSocketUpgradeRequest(const Target& t, std::string_view request_target);
// roomcast's join: the upgrade of "/ws?room=R&user=U".
[[nodiscard]] std::string UpgradeRequest(const Target& t, std::string_view room,
                                         std::string_view user);

// Result of looking at the start of the receive stream before the upgrade completed.
enum class UpgradeStatus { kIncomplete, kSwitched, kRefused };
// On kSwitched *head_bytes is the length of the response head (frames follow it).
[[nodiscard]] UpgradeStatus ParseUpgradeResponse(std::string_view buf, size_t* head_bytes);

// Appends one final, masked client frame. mask_seed is any 32-bit value (it need not be random
// for a load tool talking to its own server; it must only be present).
void AppendClientFrame(std::string* out, WsOpcode op, std::string_view payload, uint32_t mask_seed);

// How AppendStampText pads: 'x' (the default), or chat-like words (--words), chosen from the
// publisher and counter so that texts differ and compress as chat does. Set once before workers
// start.
void SetStampPadding(bool words);

// The stamp "t=<send_ns> p=<pub> n=<counter> " padded (SetStampPadding) to text_bytes (never
// shorter than the stamp itself): the text of every message, whatever the target.
void AppendStampText(std::string* out, uint64_t send_ns, uint32_t pub, uint32_t counter,
                     uint32_t text_bytes);

// The JSON of a roomcast send op whose text is AppendStampText's. cid is "p<pub>-<counter>"
// followed by cid_suffix (the run token, so that no cid repeats across runs
// against one server, which would answer a repeated cid from its dedup window).
void AppendSendOp(std::string* out, uint64_t send_ns, uint32_t pub, uint32_t counter,
                  uint32_t text_bytes, std::string_view cid_suffix = {});

struct Stamp {
  uint64_t send_ns = 0;
  uint32_t pub = 0;
  uint32_t counter = 0;
};

// What kind of server object a text frame carries; only the prefix is looked at.
enum class ServerKind { kMsg, kAck, kWelcome, kGap, kError, kPong, kOther };
[[nodiscard]] ServerKind Classify(std::string_view payload);

// Parses a text that starts with the stamp ("t=<ns> p=<pub> n=<counter>"); false otherwise.
[[nodiscard]] bool ParseStampText(std::string_view text, Stamp* out);
// Finds "text":"t=... in a roomcast msg frame and parses the stamp; false if absent (a foreign
// message).
[[nodiscard]] bool ParseMsgStamp(std::string_view payload, Stamp* out);
// The publisher and counter of an ack whose cid is exactly "p<pub>-<counter><suffix>"; false if
// the cid is not ours.
[[nodiscard]] bool ParseAckCid(std::string_view payload, std::string_view suffix, uint32_t* pub,
                               uint32_t* counter);

// One server frame seen by ScanFrames.
struct ServerFrame {
  WsOpcode opcode;
  bool fin;
  std::string_view payload;
  bool compressed = false;  // RSV1: a permessage-deflate message (payload is deflated)
};

// Calls on_frame for each whole frame at the start of buf and returns the bytes consumed; the
// caller keeps buf[consumed..] for the next read. Sets *bad on a masked or oversized frame.
template <class OnFrame>
size_t ScanFrames(std::string_view buf, bool* bad, OnFrame&& on_frame) {
  constexpr uint64_t kMaxPayload = 16u << 20;
  size_t pos = 0;
  const auto* b = reinterpret_cast<const uint8_t*>(buf.data());
  while (buf.size() - pos >= 2) {
    const uint8_t b0 = b[pos], b1 = b[pos + 1];
    if (b1 & 0x80) {  // servers never mask
      *bad = true;
      return pos;
    }
    uint64_t len = b1 & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (buf.size() - pos < 4) break;
      len = (uint64_t{b[pos + 2]} << 8) | b[pos + 3];
      header = 4;
    } else if (len == 127) {
      if (buf.size() - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | b[pos + 2 + i];
      header = 10;
    }
    if (len > kMaxPayload) {
      *bad = true;
      return pos;
    }
    if (buf.size() - pos - header < len) break;
    on_frame(ServerFrame{static_cast<WsOpcode>(b0 & 0x0f), (b0 & 0x80) != 0,
                         buf.substr(pos + header, static_cast<size_t>(len)), (b0 & 0x40) != 0});
    pos += header + static_cast<size_t>(len);
  }
  return pos;
}

}  // namespace roomcast::load
