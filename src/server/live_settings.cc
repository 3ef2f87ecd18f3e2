// The settings a shard takes again after SIGHUP (reload.h): the admin key and the CORS list.
// An answer already on its way keeps the CORS index it was given; after a reload that index may
// name another origin's headers or none (the request raced the reload; the browser retries).
#include <string>
#include <string_view>

#include "shard.h"

namespace roomcast::server {

void Shard::ApplyLiveSettings() {
  live_generation_ = shared_->live_generation.load(std::memory_order_acquire);
  live_ = shared_->live.load();
  cors_headers_.assign(256, std::string());
  cors_list_.clear();
  cors_headers_[kCorsAny] = "Access-Control-Allow-Origin: *\r\n";
  std::string_view list = live_->cors_origins;
  for (size_t i = kCorsFirstListed; !list.empty() && list != "*" && i < kCorsDenied; ++i) {
    const size_t comma = list.find(',');
    std::string_view origin = list.substr(0, comma);
    while (!origin.empty() && origin.front() == ' ') origin.remove_prefix(1);
    while (!origin.empty() && origin.back() == ' ') origin.remove_suffix(1);
    cors_list_.emplace_back(origin);
    cors_headers_[i] =
        "Access-Control-Allow-Origin: " + std::string(origin) + "\r\nVary: Origin\r\n";
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
}

}  // namespace roomcast::server
