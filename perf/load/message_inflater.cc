// permessage-deflate inflation for roomcast-load (message_inflater.h).
#include "message_inflater.h"

#include <zlib.h>

namespace roomcast::load {

namespace {
constexpr char kTail[] = {'\x00', '\x00', '\xff', '\xff'};
constexpr size_t kMaxMessage = 16u << 20;
}  // namespace

MessageInflater::~MessageInflater() {
  if (z_ == nullptr) return;
  inflateEnd(z_);
  delete z_;
}

bool MessageInflater::Inflate(std::string_view compressed, std::string* out) {
  if (z_ == nullptr) {
    z_ = new z_stream{};
    if (inflateInit2(z_, -15) != Z_OK) {
      delete z_;
      z_ = nullptr;
      return false;
    }
  } else {
    inflateReset(z_);
  }
  out->clear();
  for (const std::string_view part : {compressed, std::string_view(kTail, sizeof(kTail))}) {
    z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    z_->avail_in = static_cast<uInt>(part.size());
    while (z_->avail_in > 0) {
      const size_t have = out->size();
      if (have >= kMaxMessage) return false;
      const size_t room = have < 4096 ? 4096 : have;
      out->resize(have + room);
      z_->next_out = reinterpret_cast<Bytef*>(out->data() + have);
      z_->avail_out = static_cast<uInt>(room);
      const int rc = inflate(z_, Z_SYNC_FLUSH);
      out->resize(have + room - z_->avail_out);
      if (rc == Z_STREAM_END) return true;
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (rc == Z_BUF_ERROR && z_->avail_out != 0) return false;
    }
  }
  return true;
}

}  // namespace roomcast::load
