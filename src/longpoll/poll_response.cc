#include "longpoll/poll_response.h"

#include <charconv>

namespace roomcast::longpoll {

namespace {
void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}
}  // namespace

std::string BuildPollBody(std::span<const std::string_view> objects, std::string_view cursor,
                          uint32_t timeout_ms, std::string_view epoch, uint64_t seq) {
  size_t size = 80 + cursor.size() + epoch.size();
  for (std::string_view o : objects) size += o.size() + 1;
  std::string out;
  out.reserve(size);
  out.append("{\"messages\":[");
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i) out.push_back(',');
    out.append(objects[i]);
  }
  out.append("],\"cursor\":\"");
  out.append(cursor);
  out.append("\",\"timeoutMs\":");
  AppendUint(&out, timeout_ms);
  out.append(",\"epoch\":\"");
  out.append(epoch);
  out.append("\",\"seq\":");
  AppendUint(&out, seq);
  out.push_back('}');
  return out;
}

}  // namespace roomcast::longpoll
