// permessage-deflate codec and negotiation (deflate.h). Shard thread only (per-shard objects).
#include "ws/deflate.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace roomcast::ws {

namespace {

constexpr std::string_view kExtension = "permessage-deflate";
constexpr char kTail[] = {'\x00', '\x00', '\xff', '\xff'};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Window bits of a parameter value ("15" or "\"15\""): 8..15, else 0.
int WindowBits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.size() == 1 && v[0] == '8') return 8;
  if (v.size() == 1 && v[0] == '9') return 9;
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return 0;
}

// True when one offer ("permessage-deflate; a; b=1") can be accepted as we answer it.
bool Acceptable(std::string_view offer) {
  size_t semi = offer.find(';');
  if (Trim(offer.substr(0, semi)) != kExtension) return false;
  unsigned seen = 0;
  while (semi != std::string_view::npos) {
    offer.remove_prefix(semi + 1);
    semi = offer.find(';');
    const std::string_view param = Trim(offer.substr(0, semi));
    const size_t eq = param.find('=');
    const std::string_view name = Trim(param.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : Trim(param.substr(eq + 1));
    unsigned bit = 0;
    if (name == "server_no_context_takeover" && eq == std::string_view::npos) {
      bit = 1;
    } else if (name == "client_no_context_takeover" && eq == std::string_view::npos) {
      bit = 2;
    } else if (name == "server_max_window_bits" && WindowBits(value) == 15) {
      bit = 4;  // below 15: the shared 32 KiB-window compressor cannot honour it
    } else if (name == "client_max_window_bits" &&
               (eq == std::string_view::npos || WindowBits(value) != 0)) {
      bit = 8;  // the client's window: our inflater takes any (15 bits)
    } else {
      return false;
    }
    if (seen & bit) return false;  // RFC 7692 7: a repeated parameter declines the offer
    seen |= bit;
  }
  return true;
}

}  // namespace

std::string NegotiateDeflate(std::string_view offers) {
  while (!offers.empty()) {
    const size_t comma = offers.find(',');
    if (Acceptable(Trim(offers.substr(0, comma)))) {
      return "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
             "client_no_context_takeover\r\n";
    }
    if (comma == std::string_view::npos) break;
    offers.remove_prefix(comma + 1);
  }
  return {};
}

SharedDeflater::SharedDeflater(size_t min_bytes) : z_(new z_stream{}), min_bytes_(min_bytes) {
  // Raw deflate (no zlib header), 32 KiB window, default memory level: about 256 KiB per shard.
  if (deflateInit2(z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete z_;
    throw std::bad_alloc();
  }
}

SharedDeflater::~SharedDeflater() {
  deflateEnd(z_);
  delete z_;
}

bool SharedDeflater::Compress(std::string_view payload, std::string* out) {
  if (payload.size() <= min_bytes_) return false;
  ++calls_;
  bytes_in_ += payload.size();
  bytes_out_ += payload.size();  // corrected below when the compressed form is used
  deflateReset(z_);              // an empty window for every message: server_no_context_takeover
  const size_t start = out->size();
  // Smaller than the payload or not worth it: at most payload.size() - 1 bytes, plus the tail
  // that is cut off again, plus room for zlib to report that it ran out.
  const size_t cap = payload.size() + sizeof(kTail) + 64;
  out->resize(start + cap);
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z_->avail_in = static_cast<uInt>(payload.size());
  z_->next_out = reinterpret_cast<Bytef*>(out->data() + start);
  z_->avail_out = static_cast<uInt>(cap);
  const int rc = deflate(z_, Z_SYNC_FLUSH);
  const size_t produced = cap - z_->avail_out;
  if (rc != Z_OK || z_->avail_in != 0 || z_->avail_out == 0 || produced < sizeof(kTail) ||
      produced - sizeof(kTail) >= payload.size()) {
    out->resize(start);
    return false;
  }
  out->resize(start + produced - sizeof(kTail));  // RFC 7692 7.2.1: drop 00 00 ff ff
  bytes_out_ -= payload.size() - (produced - sizeof(kTail));
  return true;
}

namespace {

// One server frame at the start of `frames`: header size and payload length; false when the
// bytes are not a whole, unmasked, final frame without RSV bits.
bool ServerFrameAt(std::string_view frames, size_t* header, uint64_t* length) {
  if (frames.size() < 2) return false;
  const auto b0 = static_cast<uint8_t>(frames[0]);
  const auto b1 = static_cast<uint8_t>(frames[1]);
  if ((b0 & 0xF0) != 0x80 || (b1 & 0x80) != 0) return false;  // FIN, no RSV, unmasked
  const uint8_t len7 = b1 & 0x7F;
  const size_t extra = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (frames.size() < 2 + extra) return false;
  uint64_t len = len7;
  if (extra != 0) {
    len = 0;
    for (size_t i = 0; i < extra; ++i) len = (len << 8) | static_cast<uint8_t>(frames[2 + i]);
  }
  *header = 2 + extra;
  *length = len;
  return len <= frames.size() - *header;
}

// A compressed frame's header: FIN, RSV1, the opcode, the payload length (minimal form).
void AppendCompressedHeader(std::string* out, uint8_t opcode, size_t length) {
  out->push_back(static_cast<char>(0xC0 | opcode));
  if (length < 126) {
    out->push_back(static_cast<char>(length));
  } else if (length < 0x10000) {
    out->push_back(static_cast<char>(126));
    out->push_back(static_cast<char>(length >> 8));
    out->push_back(static_cast<char>(length & 0xFF));
  } else {
    out->push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out->push_back(static_cast<char>((static_cast<uint64_t>(length) >> shift) & 0xFF));
    }
  }
}

}  // namespace

bool DeflateFrames(std::string_view frames, SharedDeflater& deflater, std::string* out) {
  out->clear();
  out->reserve(frames.size());
  bool any = false;
  std::string z;
  while (!frames.empty()) {
    size_t header = 0;
    uint64_t length = 0;
    if (!ServerFrameAt(frames, &header, &length)) {
      std::fprintf(stderr, "roomcast deflate: a batch that is not whole server frames\n");
      std::abort();
    }
    const std::string_view payload = frames.substr(header, length);
    const uint8_t opcode = static_cast<uint8_t>(frames[0]) & 0x0F;
    z.clear();
    if ((opcode == 0x1 || opcode == 0x2) && deflater.Compress(payload, &z)) {
      AppendCompressedHeader(out, opcode, z.size());
      out->append(z);
      any = true;
    } else {
      out->append(frames.substr(0, header + length));
    }
    frames.remove_prefix(header + length);
  }
  if (!any) out->clear();
  return any;
}

SharedInflater::SharedInflater() : z_(new z_stream{}) {
  if (inflateInit2(z_, -15) != Z_OK) {
    delete z_;
    throw std::bad_alloc();
  }
}

SharedInflater::~SharedInflater() {
  inflateEnd(z_);
  delete z_;
}

InflateStatus SharedInflater::Inflate(std::string_view compressed, size_t max_out,
                                      std::string* out) {
  inflateReset(z_);  // client_no_context_takeover: every message from an empty window
  out->clear();
  constexpr size_t kChunk = 16384;
  for (const std::string_view part : {compressed, std::string_view(kTail, sizeof(kTail))}) {
    z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    z_->avail_in = static_cast<uInt>(part.size());
    for (;;) {
      const size_t have = out->size();
      if (have > max_out) return InflateStatus::kTooBig;
      out->resize(have + kChunk);
      z_->next_out = reinterpret_cast<Bytef*>(out->data() + have);
      z_->avail_out = static_cast<uInt>(kChunk);
      const int rc = inflate(z_, Z_SYNC_FLUSH);
      const bool full = z_->avail_out == 0;  // more output may be waiting
      out->resize(have + kChunk - z_->avail_out);
      if (rc == Z_STREAM_END) {  // a final block (RFC 7692 7.2.3.3 allows it): the message ends
        return out->size() > max_out ? InflateStatus::kTooBig : InflateStatus::kOk;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return InflateStatus::kBad;
      if (!full && z_->avail_in == 0) break;                       // this part is used up
      if (rc == Z_BUF_ERROR && !full) return InflateStatus::kBad;  // no progress possible
    }
  }
  return out->size() > max_out ? InflateStatus::kTooBig : InflateStatus::kOk;
}

}  // namespace roomcast::ws
