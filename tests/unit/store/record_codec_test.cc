#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "store/crc32c.h"
#include "store/segment_log.h"
#include "store_test_util.h"

namespace roomcast::store {
namespace {

using testing::MakeRecord;
using testing::OwnedRecord;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

OwnedRecord Sample() {
  OwnedRecord r = MakeRecord("lobby", 42, 30);
  r.target = 7;
  r.flags = kRecPrio | kRecRetract;
  r.ts_ms = -5;  // signed survives
  return r;
}

TEST(RecordCodec, RoundTrip) {
  const OwnedRecord in = Sample();
  std::string buf;
  EncodeRecord(in.View(), &buf);
  EXPECT_EQ(buf.size(), EncodedSize(in.View()));
  Record out;
  size_t used = 0;
  ASSERT_EQ(DecodeRecord(Bytes(buf), &out, &used), DecodeStatus::kOk);
  EXPECT_EQ(used, buf.size());
  EXPECT_EQ(OwnedRecord::From(out), in);
  // The views point into the input, not into copies.
  EXPECT_GE(out.json.data(), buf.data());
  EXPECT_LT(out.json.data(), buf.data() + buf.size());
}

TEST(RecordCodec, LayoutIsLittleEndianAsDocumented) {
  OwnedRecord in;
  in.seq = 0x0102030405060708;
  in.room = "r";
  in.json = "{}";
  std::string buf;
  EncodeRecord(in.View(), &buf);
  uint32_t len, crc;
  std::memcpy(&len, buf.data(), 4);
  std::memcpy(&crc, buf.data() + 4, 4);
  EXPECT_EQ(len, buf.size() - 8);
  EXPECT_EQ(crc, Crc32c(buf.data() + 8, len));
  EXPECT_EQ(buf[8], 1);      // type
  EXPECT_EQ(buf[10], 0x08);  // seq, low byte first
  EXPECT_EQ(buf[34], 1);     // room_len after type, flags, seq, target, ts
  EXPECT_EQ(buf[35], 'r');
  EXPECT_EQ(buf.substr(buf.size() - 2), "{}");
}

TEST(RecordCodec, EmptyAndMaximalFieldsRoundTrip) {
  OwnedRecord empty;
  OwnedRecord big;
  big.room.assign(kMaxRoomLen, 'r');
  big.epoch.assign(kMaxEpochLen, 'e');
  big.user.assign(kMaxUserLen, 'u');
  big.cid.assign(kMaxCidLen, 'c');
  big.json.assign(kMaxJsonLen, 'j');
  EXPECT_TRUE(RecordFits(big.View()));
  EXPECT_LE(EncodedSize(big.View()) - kFrameHeaderSize, kMaxPayload);
  for (const OwnedRecord* in : {&empty, &big}) {
    std::string buf;
    EncodeRecord(in->View(), &buf);
    Record out;
    size_t used = 0;
    ASSERT_EQ(DecodeRecord(Bytes(buf), &out, &used), DecodeStatus::kOk);
    EXPECT_EQ(OwnedRecord::From(out), *in);
  }
}

TEST(RecordCodec, RecordFitsChecksEveryLimit) {
  OwnedRecord r = Sample();
  EXPECT_TRUE(RecordFits(r.View()));
  r.room.assign(kMaxRoomLen + 1, 'r');
  EXPECT_FALSE(RecordFits(r.View()));
  r = Sample();
  r.epoch.assign(kMaxEpochLen + 1, 'e');
  EXPECT_FALSE(RecordFits(r.View()));
  r = Sample();
  r.user.assign(kMaxUserLen + 1, 'u');
  EXPECT_FALSE(RecordFits(r.View()));
  r = Sample();
  r.cid.assign(kMaxCidLen + 1, 'c');
  EXPECT_FALSE(RecordFits(r.View()));
  r = Sample();
  r.json.assign(kMaxJsonLen + 1, 'j');
  EXPECT_FALSE(RecordFits(r.View()));
}

TEST(RecordCodec, BackToBackRecordsDecodeInTurn) {
  std::string buf;
  for (uint64_t s = 1; s <= 3; ++s) EncodeRecord(MakeRecord("a", s).View(), &buf);
  std::span<const uint8_t> in = Bytes(buf);
  for (uint64_t s = 1; s <= 3; ++s) {
    Record out;
    size_t used = 0;
    ASSERT_EQ(DecodeRecord(in, &out, &used), DecodeStatus::kOk);
    EXPECT_EQ(out.seq, s);
    in = in.subspan(used);
  }
  EXPECT_TRUE(in.empty());
}

TEST(RecordCodec, EverySingleBitFlipIsDetected) {
  std::string buf;
  EncodeRecord(Sample().View(), &buf);
  const uint32_t len = static_cast<uint32_t>(buf.size() - 8);
  for (size_t bit = 0; bit < buf.size() * 8; ++bit) {
    std::string bad = buf;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Record out;
    size_t used = 0;
    const DecodeStatus st = DecodeRecord(Bytes(bad), &out, &used);
    if (st == DecodeStatus::kNeedMore) {
      // Only a length made longer may look torn.
      uint32_t flipped;
      std::memcpy(&flipped, bad.data(), 4);
      EXPECT_LT(bit, 32u) << "bit " << bit;
      EXPECT_GT(flipped, len) << "bit " << bit;
    } else {
      EXPECT_EQ(st, DecodeStatus::kCorrupt) << "bit " << bit;
    }
  }
}

TEST(RecordCodec, EveryTruncationNeedsMore) {
  std::string buf;
  EncodeRecord(Sample().View(), &buf);
  for (size_t n = 0; n < buf.size(); ++n) {
    Record out;
    size_t used = 0;
    const char* why = nullptr;
    EXPECT_EQ(DecodeRecord(Bytes(buf).first(n), &out, &used, &why), DecodeStatus::kNeedMore) << n;
    EXPECT_NE(why, nullptr);
  }
}

TEST(RecordCodec, ZeroOrHugeLengthIsCorruptEvenWhenShort) {
  for (uint32_t len : {0u, static_cast<uint32_t>(kMaxPayload + 1), 0xFFFFFFFFu}) {
    std::string buf(8, '\0');
    std::memcpy(buf.data(), &len, 4);
    Record out;
    size_t used = 0;
    const char* why = nullptr;
    EXPECT_EQ(DecodeRecord(Bytes(buf), &out, &used, &why), DecodeStatus::kCorrupt) << len;
    EXPECT_STREQ(why, "bad payload length");
    EXPECT_EQ(DecodeRecord(Bytes(buf).first(4), &out, &used), DecodeStatus::kCorrupt) << len;
  }
}

// A frame around `payload` with a correct crc.
std::string Frame(const std::string& payload) {
  std::string f(8, '\0');
  const uint32_t len = static_cast<uint32_t>(payload.size());
  const uint32_t crc = Crc32c(payload.data(), payload.size());
  std::memcpy(f.data(), &len, 4);
  std::memcpy(f.data() + 4, &crc, 4);
  return f + payload;
}

TEST(RecordCodec, UnknownTypeAndBadInnerLengthsAreCorrupt) {
  std::string good;
  EncodeRecord(Sample().View(), &good);
  const std::string payload = good.substr(8);
  Record out;
  size_t used = 0;
  const char* why = nullptr;
  ASSERT_EQ(DecodeRecord(Bytes(Frame(payload)), &out, &used), DecodeStatus::kOk);

  std::string type2 = payload;
  type2[0] = 2;
  EXPECT_EQ(DecodeRecord(Bytes(Frame(type2)), &out, &used, &why), DecodeStatus::kCorrupt);
  EXPECT_STREQ(why, "unknown record type");

  std::string long_room = payload;
  long_room[26] = static_cast<char>(kMaxRoomLen + 1);  // room_len past its limit
  EXPECT_EQ(DecodeRecord(Bytes(Frame(long_room)), &out, &used, &why), DecodeStatus::kCorrupt);
  EXPECT_STREQ(why, "bad inner lengths");

  EXPECT_EQ(DecodeRecord(Bytes(Frame(payload + "x")), &out, &used, &why),
            DecodeStatus::kCorrupt);  // a trailing byte
  EXPECT_STREQ(why, "bad inner lengths");
  EXPECT_EQ(DecodeRecord(Bytes(Frame(payload.substr(0, payload.size() - 1))), &out, &used, &why),
            DecodeStatus::kCorrupt);  // json shorter than its length
  EXPECT_STREQ(why, "bad inner lengths");
}

TEST(RecordCodecDeathTest, OversizedRecordStopsTheProcess) {
  OwnedRecord r = Sample();
  r.room.assign(300, 'r');
  std::string buf;
  EXPECT_DEATH(EncodeRecord(r.View(), &buf), "passes its limit");
}

}  // namespace
}  // namespace roomcast::store
