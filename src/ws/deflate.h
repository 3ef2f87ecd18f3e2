// permessage-deflate (RFC 7692) as roomcast uses it, built on zlib: the negotiation, the codec
// and the compressed twin of a batch of server frames (DeflateFrames). docs/protocol.md,
// "Compression", says how the sessions and the fan-out use them.
//
// Negotiation: an offer is accepted with server_no_context_takeover AND client_no_context_takeover
// in the answer (RFC 7692 7.1.1: a server may ask the client for the latter even when it was not
// offered), so that every message, both ways, is compressed from an empty window: then one
// compressor and one inflater per shard serve every connection, and an idle compressed
// connection costs no zlib memory at all. An offer we cannot honour (server_max_window_bits below
// 15, since the shared compressor uses a 32 KiB window; an unknown, repeated or malformed
// parameter) is declined; the next offer in the header is tried.
//
// SharedDeflater compresses one message at a time from an empty window (deflateReset, then
// Z_SYNC_FLUSH, the trailing 00 00 ff ff removed, RFC 7692 7.2.1), so the compressed bytes are
// the same for every viewer and a batch is compressed once per shard. SharedInflater inflates a
// whole client message with an output bound: past it, kTooBig (close 1009, a compression bomb).
// Each is per shard and used only by its thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct z_stream_s;

namespace roomcast::ws {

// The Sec-WebSocket-Extensions header line ("Sec-WebSocket-Extensions: ...\r\n") that accepts the
// first acceptable permessage-deflate offer in `offers` (the request's header value, all its
// lines joined by ','), or empty when none is acceptable (the connection goes on uncompressed).
[[nodiscard]] std::string NegotiateDeflate(std::string_view offers);

class SharedDeflater {
 public:
  explicit SharedDeflater(size_t min_bytes);
  ~SharedDeflater();
  SharedDeflater(const SharedDeflater&) = delete;
  SharedDeflater& operator=(const SharedDeflater&) = delete;

  // Appends the compressed payload of one message to *out and returns true, but only when
  // payload is larger than min_bytes and the result is smaller than payload; otherwise appends
  // nothing and returns false (the message goes out plain, RSV1 clear).
  bool Compress(std::string_view payload, std::string* out);
  [[nodiscard]] uint64_t Calls() const { return calls_; }  // messages run through deflate
  // Payload bytes run through deflate, and what came out of those calls (compressed bytes
  // when used, else the payload's size: that message went out plain).
  [[nodiscard]] uint64_t BytesIn() const { return bytes_in_; }
  [[nodiscard]] uint64_t BytesOut() const { return bytes_out_; }

 private:
  z_stream_s* z_;
  size_t min_bytes_;
  uint64_t calls_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

// The compressed twin of a buffer of whole, unmasked, final server frames (a room's batch): each
// text or binary frame that SharedDeflater::Compress takes is written with RSV1 and its
// compressed payload, every other frame is copied as it is. Returns false (and *out is left
// empty) when no frame was compressed: the plain buffer serves every viewer then. Aborts on
// bytes that are not such frames (they are always our own).
[[nodiscard]] bool DeflateFrames(std::string_view frames, SharedDeflater& deflater,
                                 std::string* out);

enum class InflateStatus { kOk, kTooBig, kBad };

class SharedInflater {
 public:
  SharedInflater();
  ~SharedInflater();
  SharedInflater(const SharedInflater&) = delete;
  SharedInflater& operator=(const SharedInflater&) = delete;

  // Inflates one whole compressed message (RFC 7692 7.2.2: the payload plus 00 00 ff ff) into
  // *out (replaced), producing at most max_out bytes: more is kTooBig, stopped as soon as it is
  // seen (never more than max_out plus one zlib chunk in memory). Corrupt data: kBad.
  InflateStatus Inflate(std::string_view compressed, size_t max_out, std::string* out);

 private:
  z_stream_s* z_;
};

}  // namespace roomcast::ws
