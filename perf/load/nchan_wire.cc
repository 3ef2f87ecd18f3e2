// nchan requests for nchan_wire.h.
#include "nchan_wire.h"

#include "ws_client.h"

namespace roomcast::load {

namespace {

// The URL's path (if given) without a trailing '/', then "/sub/" or "/pub/", then the channel.
void AppendChannelPath(std::string* out, const Target& t, std::string_view kind,
                       std::string_view room) {
  if (t.path_given) {
    std::string_view prefix = t.path;
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    out->append(prefix);
  }
  out->push_back('/');
  out->append(kind);
  out->push_back('/');
  out->append(room);
}

}  // namespace

std::string NchanSubscribeRequest(const Target& t, std::string_view room) {
  std::string path;
  AppendChannelPath(&path, t, "sub", room);
  return WebSocketUpgradeRequest(t, path);
}

std::string NchanPublisherRequest(const Target& t, std::string_view room) {
  std::string path;
  AppendChannelPath(&path, t, "pub", room);
  return WebSocketUpgradeRequest(t, path);
}

bool IsNchanPublishAck(std::string_view frame) {
  constexpr std::string_view kInfo = "queued messages: ";
  return frame.substr(0, kInfo.size()) == kInfo;
}

void AppendNchanPublish(std::string* out, const Target& t, std::string_view room, uint64_t send_ns,
                        uint32_t pub, uint32_t counter, uint32_t text_bytes) {
  std::string body;
  body.reserve(text_bytes + 48);
  AppendStampText(&body, send_ns, pub, counter, text_bytes);
  *out += "POST ";
  AppendChannelPath(out, t, "pub", room);
  *out += " HTTP/1.1\r\nHost: ";
  *out += t.host_header;
  *out += "\r\nContent-Type: text/plain\r\nContent-Length: ";
  *out += std::to_string(body.size());
  *out += "\r\nUser-Agent: roomcast-load\r\n\r\n";
  *out += body;
}

}  // namespace roomcast::load
