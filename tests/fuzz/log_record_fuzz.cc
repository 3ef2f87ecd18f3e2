// DecodeRecord over arbitrary bytes: consumed <= input, an accepted record fits the limits and
// re-encodes to exactly the bytes it came from (the format has one encoding per record), a
// truncated copy of a good frame is kNeedMore (a torn tail, never kCorrupt or kOk), and a record
// built from the input round-trips through EncodeRecord and DecodeRecord.
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "store/segment_log.h"

using roomcast::fuzz::ByteTaker;
using roomcast::store::DecodeRecord;
using roomcast::store::DecodeStatus;
using roomcast::store::EncodeRecord;
using roomcast::store::Record;

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool SameRecord(const Record& a, const Record& b) {
  return a.seq == b.seq && a.target == b.target && a.ts_ms == b.ts_ms && a.flags == b.flags &&
         a.room == b.room && a.epoch == b.epoch && a.user == b.user && a.cid == b.cid &&
         a.json == b.json;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  Record rec;
  size_t consumed = 0;
  const char* why = nullptr;
  const DecodeStatus st = DecodeRecord(in, &rec, &consumed, &why);
  if (st == DecodeStatus::kOk) {
    FUZZ_CHECK(consumed >= roomcast::store::kFrameHeaderSize && consumed <= size);
    FUZZ_CHECK(roomcast::store::RecordFits(rec));
    FUZZ_CHECK(roomcast::store::EncodedSize(rec) == consumed);
    FUZZ_CHECK(roomcast::store::MayStartRecord(in));
    std::string again;
    EncodeRecord(rec, &again);
    FUZZ_CHECK(again.size() == consumed && std::memcmp(again.data(), data, consumed) == 0);
    // Every strict prefix of a good frame is a torn tail.
    const size_t cut = (consumed * 7 + size) % consumed;
    Record ignored;
    size_t ignored_size = 0;
    FUZZ_CHECK(DecodeRecord(in.first(cut), &ignored, &ignored_size) == DecodeStatus::kNeedMore);
  } else {
    FUZZ_CHECK(why != nullptr);
  }

  // The input as a record's fields, encoded then decoded.
  ByteTaker take(data, size);
  Record r;
  for (int i = 0; i < 8; ++i) r.seq = (r.seq << 8) | take.Byte();
  r.target = take.U16();
  r.ts_ms = static_cast<int16_t>(take.U16());
  r.flags = take.Byte();
  const size_t lens[4] = {take.Byte() % 65u, take.Byte() % 65u, take.Byte(), take.Byte()};
  std::string_view rest = take.Rest();
  std::string_view* fields[4] = {&r.room, &r.epoch, &r.user, &r.cid};
  for (int i = 0; i < 4; ++i) {
    *fields[i] = rest.substr(0, lens[i]);
    rest.remove_prefix(fields[i]->size());
  }
  r.json = rest;
  std::string enc = "prefix";  // EncodeRecord appends
  EncodeRecord(r, &enc);
  const std::string_view frame = std::string_view(enc).substr(6);
  Record back;
  size_t used = 0;
  const DecodeStatus back_st = DecodeRecord(Bytes(frame), &back, &used);
  using roomcast::store::MayStartRecord;
  constexpr uint8_t kKnownFlags = roomcast::store::kKnownRecordFlags;
  if ((r.flags & ~kKnownFlags) != 0) {  // no writer sets other flags: corrupt
    FUZZ_CHECK(back_st == DecodeStatus::kCorrupt);
    FUZZ_CHECK(!MayStartRecord(Bytes(frame)));
    return 0;
  }
  FUZZ_CHECK(back_st == DecodeStatus::kOk);
  FUZZ_CHECK(MayStartRecord(Bytes(frame)));  // the resync pre-filter never skips a good frame
  FUZZ_CHECK(used == frame.size() && SameRecord(back, r));
  return 0;
}
