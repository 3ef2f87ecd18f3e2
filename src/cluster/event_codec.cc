#include "cluster/event_codec.h"

#include <charconv>
#include <cstdio>

#include "base/json_writer.h"

namespace roomcast::cluster {

namespace {

constexpr std::string_view kSeqField = R"(,"seq":0,"id":)";

bool ParseNum(std::string_view* s, uint64_t* out) {
  const size_t sp = s->find(' ');
  const std::string_view num = s->substr(0, sp);
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), *out);
  if (ec != std::errc() || end != num.data() + num.size()) return false;
  s->remove_prefix(sp == std::string_view::npos ? s->size() : sp + 1);
  return true;
}

}  // namespace

std::string MessageIdOf(std::string_view cid, bool cid_taken, std::string_view epoch,
                        uint64_t seq) {
  if (!cid.empty() && !cid_taken) return std::string(cid);
  return "s-" + std::string(epoch) + "-" + std::to_string(seq);
}

bool EncodeMessage(const room::OwnerRoom& r, const room::PublishInput& in, std::string* out) {
  const std::string json = r.RenderMessage(in, 0);
  const size_t at = json.find(kSeqField);
  if (at == std::string::npos) return false;
  const std::string_view head = std::string_view(json).substr(0, at + 7);  // up to "seq":
  std::string_view tail = std::string_view(json).substr(at + 8);           // from ,"id":
  const bool server_id = in.cid.empty() || in.cid_taken;
  if (server_id) {
    // Drop the id made of this node's epoch and seq 0: every node makes it from Redis's.
    const size_t close = tail.find('"', 7);  // the id's closing quote: after ,"id":"
    if (close == std::string_view::npos) return false;
    tail.remove_prefix(close + 1);
  }
  char line[96];
  std::snprintf(line, sizeof(line), "1 %u %llu %lld %c\n", in.prio ? room::kEvPrio : 0u,
                static_cast<unsigned long long>(room::UserTag(in.user)),
                static_cast<long long>(in.ts_ms), server_id ? 's' : 'c');
  out->assign(line);
  out->append(head);
  out->push_back('\n');
  out->append(tail);
  return true;
}

bool DecodeMessage(std::string_view payload, uint64_t seq, std::string_view epoch,
                   room::SequencedMsg* out) {
  const size_t nl1 = payload.find('\n');
  if (nl1 == std::string_view::npos) return false;
  std::string_view line = payload.substr(0, nl1);
  const size_t nl2 = payload.find('\n', nl1 + 1);
  if (nl2 == std::string_view::npos || !line.starts_with("1 ")) return false;
  line.remove_prefix(2);
  uint64_t flags = 0, tag = 0, ts = 0;
  if (!ParseNum(&line, &flags) || !ParseNum(&line, &tag) || !ParseNum(&line, &ts)) return false;
  if (line != "s" && line != "c") return false;
  const std::string_view head = payload.substr(nl1 + 1, nl2 - nl1 - 1);
  const std::string_view tail = payload.substr(nl2 + 1);
  if (!head.ends_with(R"("seq":)") || !tail.starts_with(',')) return false;
  out->seq = seq;
  out->flags = static_cast<uint8_t>(flags & room::kEvPrio);
  out->user_tag = tag;
  out->ts_ms = static_cast<int64_t>(ts);
  out->json.clear();
  out->json.reserve(payload.size() + 48);
  out->json.append(head);
  json::AppendUint(&out->json, seq);
  if (line == "s") {
    out->json += R"(,"id":)";
    json::AppendString(&out->json, MessageIdOf({}, true, epoch, seq));
  }
  out->json.append(tail);
  return true;
}

}  // namespace roomcast::cluster
