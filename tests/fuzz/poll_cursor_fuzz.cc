// The long-poll cursor. Decoding arbitrary text never reads outside it and accepts only what the
// codec itself wrote: an accepted text re-encodes to exactly itself (one text per cursor, so a
// flipped bit cannot pass). A cursor built from the input survives Encode then Decode, and the
// same cursor under another key is refused as kBadSignature.
#include <array>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "longpoll/poll_cursor.h"

using roomcast::fuzz::ByteTaker;
using roomcast::longpoll::Cursor;
using roomcast::longpoll::CursorCodec;
using roomcast::longpoll::CursorError;

namespace {

std::array<uint8_t, 32> Key(uint8_t fill) {
  std::array<uint8_t, 32> k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(fill + 7 * i);
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::array<uint8_t, 32> key = Key(1);
  static const std::array<uint8_t, 32> other_key = Key(2);
  static const CursorCodec codec(key);
  static const CursorCodec other(other_key);

  // 1. The input as cursor text.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Cursor c;
  const CursorError e = codec.Decode(text, &c);
  if (e == CursorError::kNone) {
    FUZZ_CHECK(c.room.size() <= roomcast::longpoll::kMaxCursorRoomBytes);
    FUZZ_CHECK(c.epoch.size() <= roomcast::longpoll::kMaxCursorEpochBytes);
    FUZZ_CHECK(codec.Encode(c) == text);
  }

  // 2. The input as a cursor's fields.
  ByteTaker take(data, size);
  Cursor in;
  for (int i = 0; i < 8; ++i) in.seq = (in.seq << 8) | take.Byte();
  const size_t epoch_len = take.Byte() % (roomcast::longpoll::kMaxCursorEpochBytes + 1);
  const std::string_view rest = take.Rest();
  in.epoch = std::string(rest.substr(0, epoch_len));
  in.room = std::string(rest.substr(in.epoch.size(), roomcast::longpoll::kMaxCursorRoomBytes));
  const std::string enc = codec.Encode(in);
  FUZZ_CHECK(enc.size() <= roomcast::longpoll::kMaxCursorChars);
  FUZZ_CHECK(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_") == std::string::npos);
  Cursor out;
  FUZZ_CHECK(codec.Decode(enc, &out) == CursorError::kNone);
  FUZZ_CHECK(out.seq == in.seq && out.epoch == in.epoch && out.room == in.room);
  Cursor forged;
  FUZZ_CHECK(other.Decode(enc, &forged) == CursorError::kBadSignature);
  return 0;
}
