// The record frame: [u32 payload_len][u32 crc32c(payload)] then
// [u8 type=1][u8 flags][u64 seq][u64 target][i64 ts_ms][u8 room_len][room][u8 epoch_len][epoch]
// [u16 user_len][user][u16 cid_len][cid][u32 json_len][json], all little-endian.
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "store/crc32c.h"
#include "store/segment_log.h"

static_assert(std::endian::native == std::endian::little, "the log format is little-endian");

namespace roomcast::store {

namespace {

constexpr uint8_t kTypeEvent = 1;
// type, flags, seq, target, ts_ms, then the five length prefixes.
constexpr size_t kFixedPayload = 1 + 1 + 8 + 8 + 8 + 1 + 1 + 2 + 2 + 4;
static_assert(kMinEncodedSize == kFrameHeaderSize + kFixedPayload);

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

// A bounds-checked little-endian cursor over a payload.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : p_(in.data()), left_(in.size()) {}
  template <typename T>
  bool Get(T* v) {
    if (left_ < sizeof(T)) return false;
    std::memcpy(v, p_, sizeof(T));
    p_ += sizeof(T);
    left_ -= sizeof(T);
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (left_ < n) return false;
    *v = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
    return true;
  }
  size_t Left() const { return left_; }

 private:
  const uint8_t* p_;
  size_t left_;
};

template <typename Len>
bool GetString(Reader* r, size_t max, std::string_view* v) {
  Len n;
  return r->Get(&n) && n <= max && r->Bytes(n, v);
}

DecodeStatus Fail(DecodeStatus s, const char* why, const char** reason) {
  if (reason != nullptr) *reason = why;
  return s;
}

}  // namespace

bool RecordFits(const Record& r) {
  return r.room.size() <= kMaxRoomLen && r.epoch.size() <= kMaxEpochLen &&
         r.user.size() <= kMaxUserLen && r.cid.size() <= kMaxCidLen && r.json.size() <= kMaxJsonLen;
}

size_t EncodedSize(const Record& r) {
  return kFrameHeaderSize + kFixedPayload + r.room.size() + r.epoch.size() + r.user.size() +
         r.cid.size() + r.json.size();
}

void EncodeRecord(const Record& r, std::string* out) {
  if (!RecordFits(r)) {
    std::fprintf(stderr,
                 "roomcast: EncodeRecord: a field passes its limit (room %zu, epoch %zu, user %zu, "
                 "cid %zu, json %zu bytes)\n",
                 r.room.size(), r.epoch.size(), r.user.size(), r.cid.size(), r.json.size());
    std::abort();
  }
  const size_t start = out->size();
  const uint32_t payload_len = static_cast<uint32_t>(EncodedSize(r) - kFrameHeaderSize);
  out->reserve(start + kFrameHeaderSize + payload_len);
  Put<uint32_t>(out, payload_len);
  Put<uint32_t>(out, 0);  // the crc, filled in below
  Put<uint8_t>(out, kTypeEvent);
  Put<uint8_t>(out, r.flags);
  Put<uint64_t>(out, r.seq);
  Put<uint64_t>(out, r.target);
  Put<int64_t>(out, r.ts_ms);
  Put<uint8_t>(out, static_cast<uint8_t>(r.room.size()));
  out->append(r.room);
  Put<uint8_t>(out, static_cast<uint8_t>(r.epoch.size()));
  out->append(r.epoch);
  Put<uint16_t>(out, static_cast<uint16_t>(r.user.size()));
  out->append(r.user);
  Put<uint16_t>(out, static_cast<uint16_t>(r.cid.size()));
  out->append(r.cid);
  Put<uint32_t>(out, static_cast<uint32_t>(r.json.size()));
  out->append(r.json);
  const uint32_t crc = Crc32c(out->data() + start + kFrameHeaderSize, payload_len);
  std::memcpy(out->data() + start + 4, &crc, 4);
}

bool MayStartRecord(std::span<const uint8_t> in) {
  if (in.size() < 4) return true;
  uint32_t payload_len;
  std::memcpy(&payload_len, in.data(), 4);
  if (payload_len < kFixedPayload || payload_len > kMaxPayload) return false;
  if (in.size() > kFrameHeaderSize && in[kFrameHeaderSize] != kTypeEvent) return false;
  if (in.size() > kFrameHeaderSize + 1 && (in[kFrameHeaderSize + 1] & ~kKnownRecordFlags)) {
    return false;
  }
  return true;
}

DecodeStatus DecodeRecord(std::span<const uint8_t> in, Record* out, size_t* consumed,
                          const char** reason) {
  if (in.size() < 4) return Fail(DecodeStatus::kNeedMore, "torn frame header", reason);
  uint32_t payload_len;
  std::memcpy(&payload_len, in.data(), 4);
  if (payload_len == 0 || payload_len > kMaxPayload) {
    return Fail(DecodeStatus::kCorrupt, "bad payload length", reason);
  }
  if (in.size() < kFrameHeaderSize + payload_len) {
    return Fail(DecodeStatus::kNeedMore, "torn record", reason);
  }
  uint32_t crc;
  std::memcpy(&crc, in.data() + 4, 4);
  std::span<const uint8_t> payload = in.subspan(kFrameHeaderSize, payload_len);
  if (Crc32c(payload.data(), payload.size()) != crc) {
    return Fail(DecodeStatus::kCorrupt, "crc mismatch", reason);
  }
  Reader r(payload);
  uint8_t type = 0;
  Record rec;
  if (!r.Get(&type) || type != kTypeEvent) {
    return Fail(DecodeStatus::kCorrupt, "unknown record type", reason);
  }
  if (!r.Get(&rec.flags) || !r.Get(&rec.seq) || !r.Get(&rec.target) || !r.Get(&rec.ts_ms) ||
      !GetString<uint8_t>(&r, kMaxRoomLen, &rec.room) ||
      !GetString<uint8_t>(&r, kMaxEpochLen, &rec.epoch) ||
      !GetString<uint16_t>(&r, kMaxUserLen, &rec.user) ||
      !GetString<uint16_t>(&r, kMaxCidLen, &rec.cid) ||
      !GetString<uint32_t>(&r, kMaxJsonLen, &rec.json) || r.Left() != 0) {
    return Fail(DecodeStatus::kCorrupt, "bad inner lengths", reason);
  }
  if ((rec.flags & ~kKnownRecordFlags) != 0) {  // as MayStartRecord: no writer sets them
    return Fail(DecodeStatus::kCorrupt, "unknown flags", reason);
  }
  *out = rec;
  *consumed = kFrameHeaderSize + payload_len;
  return DecodeStatus::kOk;
}

}  // namespace roomcast::store
