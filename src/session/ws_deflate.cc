// permessage-deflate on a shard's WebSocket sessions (ws_deflate.h). Shard thread only.
#include "ws_deflate.h"

namespace roomcast::session {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string WsDeflate::Negotiate(const http::Request& req) {
  if (!cfg_.deflate) return {};
  // Offers may come in several header lines: they are one list (RFC 7230 3.2.2).
  std::string offers;
  for (uint32_t i = 0; i < req.header_count; ++i) {
    if (!EqualsIgnoreCase(req.headers[i].name, "Sec-WebSocket-Extensions")) continue;
    if (!offers.empty()) offers += ',';
    offers += req.headers[i].value;
  }
  if (offers.empty()) return {};
  std::string line = ws::NegotiateDeflate(offers);
  ShardMetrics::Add(
      line.empty() ? metrics_.deflate_declined_total : metrics_.deflate_negotiated_total, 1);
  return line;
}

ws::InflateStatus WsDeflate::Inflate(std::string_view compressed, std::string* out) {
  if (!inflater_) inflater_ = std::make_unique<ws::SharedInflater>();
  ShardMetrics::Add(metrics_.inflate_messages_total, 1);
  return inflater_->Inflate(compressed, cfg_.max_frame, out);
}

ws::SharedDeflater& WsDeflate::Deflater() {
  if (!deflater_) deflater_ = std::make_unique<ws::SharedDeflater>(cfg_.deflate_min_bytes);
  return *deflater_;
}

WsDeflate::Lists WsDeflate::Split(std::span<const room::ViewerId> all, SessionTable& table) {
  if (!cfg_.deflate) return {all, {}};
  size_t first = 0;
  while (first < all.size() && !(table.Get(all[first]).flags & kDeflateSess)) ++first;
  if (first == all.size()) return {all, {}};
  plain_.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(first));
  compressed_.clear();
  for (size_t i = first; i < all.size(); ++i) {
    (table.Get(all[i]).flags & kDeflateSess ? compressed_ : plain_).push_back(all[i]);
  }
  return {plain_, {compressed_, &Deflater()}};
}

void WsDeflate::Count(const room::FanoutResult& res) {
  if (!deflater_) return;
  if (res.twin) ShardMetrics::Add(metrics_.deflate_batches_total, 1);
  ShardMetrics::Set(metrics_.deflate_calls_total, deflater_->Calls());
  ShardMetrics::Set(metrics_.deflate_bytes_in_total, deflater_->BytesIn());
  ShardMetrics::Set(metrics_.deflate_bytes_out_total, deflater_->BytesOut());
}

}  // namespace roomcast::session
