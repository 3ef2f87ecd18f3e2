// The long-poll cursor: where a poller stands in a room (room, epoch, last seq seen), handed to the
// client as opaque text and handed back on its next poll. The server keeps no per-poller state, so
// the cursor must be tamper-evident: it carries a 128-bit tag (HMAC-SHA256 truncated) under a
// server key, and a cursor that fails the tag is refused, never trusted.
//
// Wire form (before base64url without padding): version 1, seq as 8 bytes little endian, epoch
// length byte + epoch (at most 32 bytes), room length byte + room (at most 64 bytes), then the
// first 16 bytes of HMAC-SHA256(key, everything before). The text uses only A-Z a-z 0-9 - _, so it
// is safe in a URL query without escaping.
//
// Pure and thread-safe: a CursorCodec is immutable after construction and may be shared by all
// shards. LoadOrCreateCursorKey does file I/O and is meant for start-up only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::longpoll {

struct Cursor {
  std::string room;
  std::string epoch;
  uint64_t seq = 0;
};

enum class CursorError { kNone, kMalformed, kBadSignature };

inline constexpr size_t kCursorKeyBytes = 32;
inline constexpr size_t kMaxCursorChars = 256;
inline constexpr size_t kMaxCursorEpochBytes = 32;
inline constexpr size_t kMaxCursorRoomBytes = 64;

class CursorCodec {
 public:
  // key must hold exactly kCursorKeyBytes; any other size stops the process (a start-up bug).
  explicit CursorCodec(std::span<const uint8_t> key);

  // Base64url text, no padding. A room over kMaxCursorRoomBytes or an epoch over
  // kMaxCursorEpochBytes is a caller bug (room ids are validated before a cursor is made) and
  // stops the process.
  [[nodiscard]] std::string Encode(const Cursor& c) const;
  // Fills *out only on kNone. Never reads outside `text`, whatever it holds.
  [[nodiscard]] CursorError Decode(std::string_view text, Cursor* out) const;

 private:
  std::array<uint8_t, kCursorKeyBytes> key_;
};

// kCursorKeyBytes from RAND_bytes; stops the process if the CSPRNG fails.
[[nodiscard]] std::vector<uint8_t> RandomCursorKey();

// 64 hex chars (either case) -> 32 bytes; false on anything else.
[[nodiscard]] bool ParseHexKey(std::string_view hex, std::vector<uint8_t>* key);

// Reads DIR/cursor.key (64 hex chars + optional newline); if absent, creates it with a random key
// (mode 0600, written to a temp file in DIR, synced, then renamed into place). False with *error
// set on any I/O problem or a malformed file; a malformed file is never replaced.
[[nodiscard]] bool LoadOrCreateCursorKey(const std::string& data_dir, std::vector<uint8_t>* key,
                                         std::string* error);

}  // namespace roomcast::longpoll
