// permessage-deflate on the load generator's side (RFC 7692): one raw-inflate stream per worker,
// reset for every message (roomcast answers server_no_context_takeover, so no message needs the
// one before). Not thread-safe: one per UringClient.
#pragma once

#include <string>
#include <string_view>

struct z_stream_s;

namespace roomcast::load {

class MessageInflater {
 public:
  MessageInflater() = default;
  ~MessageInflater();
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  // The message whose compressed payload (without the 00 00 ff ff tail) is `compressed`, into
  // *out (replaced); at most 16 MiB. False on corrupt data or a larger message.
  [[nodiscard]] bool Inflate(std::string_view compressed, std::string* out);

 private:
  z_stream_s* z_ = nullptr;
};

}  // namespace roomcast::load
