#include "cluster/resp.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

namespace roomcast::cluster {

namespace {

constexpr std::string_view kLocal = "ROOMCAST ";

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.kind = Reply::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = Reply::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = Reply::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = Reply::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = Reply::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.kind = Reply::kNil;
      break;
  }
  return out;
}

}  // namespace

bool Reply::IsUnavailable() const {
  return kind == kError && str.starts_with("ROOMCAST unavailable");
}
bool Reply::IsTimeout() const { return kind == kError && str == "ROOMCAST timeout"; }

Reply Reply::Error(std::string text) {
  Reply r;
  r.kind = kError;
  r.str = std::move(text);
  return r;
}
Reply Reply::Unavailable(std::string_view why) {
  return Error(std::string(kLocal) + "unavailable: " + std::string(why));
}
Reply Reply::Timeout() { return Error(std::string(kLocal) + "timeout"); }

struct RespReader::Impl {
  redisReader* reader = redisReaderCreate();
  ~Impl() { redisReaderFree(reader); }
};

RespReader::RespReader() : impl_(std::make_unique<Impl>()) {}
RespReader::~RespReader() = default;

bool RespReader::Feed(std::span<const uint8_t> bytes) {
  return redisReaderFeed(impl_->reader, reinterpret_cast<const char*>(bytes.data()),
                         bytes.size()) == REDIS_OK;
}

RespReader::Result RespReader::Next(Reply* out) {
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->reader, &raw) != REDIS_OK) return kProtocolError;
  if (raw == nullptr) return kNone;
  *out = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return kReply;
}

void RespReader::Reset() { impl_ = std::make_unique<Impl>(); }

std::string FormatCommand(std::span<const std::string_view> argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const int n =
      redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n < 0 || cmd == nullptr) return {};
  std::string out(cmd, static_cast<size_t>(n));
  redisFreeCommand(cmd);
  return out;
}

}  // namespace roomcast::cluster
