// RESP (the Redis protocol) for the cluster layer: hiredis's reader turns received bytes into
// replies, its formatter turns an argument vector into a command. Nothing here does I/O: the bytes
// travel over the shard's own io_uring connection (redis_link.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::cluster {

// One reply, copied out of hiredis's tree. Local failures (no connection, a deadline passed)
// are errors too, with a text that starts with "ROOMCAST " so they never look like Redis's own.
struct Reply {
  enum Kind : uint8_t { kString, kArray, kInteger, kNil, kStatus, kError };
  Kind kind = kNil;
  long long integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<Reply> elements;

  [[nodiscard]] bool IsError() const { return kind == kError; }
  // The link is down or the command could not be sent: "ROOMCAST unavailable ...".
  [[nodiscard]] bool IsUnavailable() const;
  // No reply came before the command's deadline: "ROOMCAST timeout".
  [[nodiscard]] bool IsTimeout() const;
  static Reply Error(std::string text);
  static Reply Unavailable(std::string_view why);
  static Reply Timeout();
};

// Incremental reader: Feed bytes as they come, then Next until it says kNone.
class RespReader {
 public:
  enum Result { kReply, kNone, kProtocolError };
  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  // False when the reader refused the bytes (a protocol error is then reported by Next).
  bool Feed(std::span<const uint8_t> bytes);
  Result Next(Reply* out);
  // Forget any partial reply (after a reconnect).
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One command in RESP ("*2\r\n$3\r\nGET\r\n..."), binary-safe.
std::string FormatCommand(std::span<const std::string_view> argv);

}  // namespace roomcast::cluster
