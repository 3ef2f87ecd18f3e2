// permessage-deflate on one shard's WebSocket sessions (RFC 7692; docs/protocol.md,
// "Compression"). With --deflate on, an upgrade that offers the extension gets it with
// server_no_context_takeover and client_no_context_takeover (ws::NegotiateDeflate), and the
// session is marked kDeflateSess. Then:
//   - its live batches are the compressed twin of the room's batch, built once per shard per
//     batch for every compressed viewer (room::DeflateLane; Split makes the two viewer lists);
//   - its compressed messages are inflated by the shard's one inflater, bounded by --max-frame.
// Both ways every message starts from an empty window, so the shard keeps one deflate and one
// inflate stream (about 300 KiB, created on first use) and a compressed connection costs no
// zlib memory at all, idle or not: one bit in its session record.
// Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/shard_metrics.h"
#include "http/http_parser.h"
#include "room/fanout.h"
#include "session_table.h"
#include "ws/deflate.h"

namespace roomcast::session {

class WsDeflate {
 public:
  WsDeflate(const Config& cfg, ShardMetrics* metrics) : cfg_(cfg), metrics_(*metrics) {}

  // The Sec-WebSocket-Extensions line of the 101 answer to req: empty when --deflate is off,
  // or when the request offers nothing we accept (the upgrade goes on uncompressed).
  [[nodiscard]] std::string Negotiate(const http::Request& req);
  // One whole compressed client message into *out: kTooBig past --max-frame (close 1009),
  // kBad for a corrupt stream (close 1007).
  ws::InflateStatus Inflate(std::string_view compressed, std::string* out);

  // The room's WebSocket viewers, split by whether they negotiated deflate (one look at each
  // session's flags, only with --deflate on). Without a compressed viewer among them, `plain` is
  // `all` itself (no copy). Valid until the next call.
  struct Lists {
    std::span<const room::ViewerId> plain;
    room::DeflateLane lane;
  };
  Lists Split(std::span<const room::ViewerId> all, SessionTable& table);
  // After a fan-out: its counters into the shard's metrics.
  void Count(const room::FanoutResult& res);

 private:
  ws::SharedDeflater& Deflater();

  const Config& cfg_;
  ShardMetrics& metrics_;
  std::unique_ptr<ws::SharedDeflater> deflater_;
  std::unique_ptr<ws::SharedInflater> inflater_;
  std::vector<room::ViewerId> plain_, compressed_;  // Split's scratch, reused
};

}  // namespace roomcast::session
