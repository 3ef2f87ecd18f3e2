#include "cluster/event_codec.h"

#include <charconv>
#include <cstdio>

#include "base/decimal.h"
#include "base/json_writer.h"

namespace roomcast::cluster {

namespace {

constexpr std::string_view kSeqField = R"(,"seq":0,"id":)";

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
  std::snprintf(line, sizeof(line), "1 %u %llu %lld %c\n", in.prio ? unsigned{room::kEvPrio} : 0u,
                static_cast<unsigned long long>(room::UserTag(in.user)),
                static_cast<long long>(in.ts_ms), server_id ? 's' : 'c');
  out->assign(line);
  out->append(head);
  out->push_back('\n');
  out->append(tail);
  return true;
}

bool EncodeEvent(std::string_view json, char kind, uint64_t target, int64_t ts_ms,
                 std::string* out) {
  const std::string_view field = kind == 'r' ? R"(,"at":0,)" : R"(,"seq":0,)";
  const size_t at = json.find(field);
  if (at == std::string_view::npos || (kind != 'e' && kind != 'r' && kind != 'c')) return false;
  const uint8_t flags = room::kEvPrio | (kind == 'r' ? room::kEvRetract : 0);
  char line[96];
  std::snprintf(line, sizeof(line), "2 %u %llu %lld %c\n", flags,
                static_cast<unsigned long long>(target), static_cast<long long>(ts_ms), kind);
  out->assign(line);
  out->append(json.substr(0, at + field.size() - 2));  // up to the field's colon
  out->push_back('\n');
  out->append(json.substr(at + field.size() - 1));  // from the comma after the 0
  return true;
}

namespace {

// A "2 ..." payload (EncodeEvent).
bool DecodeEvent(std::string_view line, std::string_view head, std::string_view tail, uint64_t seq,
                 room::SequencedMsg* out, EventEffect* effect) {
  uint64_t flags = 0, target = 0, ts = 0;
  if (!base::TakeU64(&line, &flags) || !base::TakeU64(&line, &target) || !base::TakeU64(&line, &ts))
    return false;
  if (line.size() != 1 || (line[0] != 'e' && line[0] != 'r' && line[0] != 'c')) return false;
  if (!head.ends_with(':') || !tail.starts_with(',')) return false;
  out->seq = seq;
  out->flags = static_cast<uint8_t>(flags & (room::kEvPrio | room::kEvRetract));
  out->user_tag = 0;
  out->ts_ms = static_cast<int64_t>(ts);
  out->json.clear();
  out->json.reserve(head.size() + tail.size() + 24);
  out->json.append(head);
  json::AppendUint(&out->json, seq);
  out->json.append(tail);
  if (effect) *effect = EventEffect{line[0], target};
  return true;
}

}  // namespace

bool DecodeMessage(std::string_view payload, uint64_t seq, std::string_view epoch,
                   room::SequencedMsg* out, EventEffect* effect) {
  const size_t nl1 = payload.find('\n');
  if (nl1 == std::string_view::npos) return false;
  std::string_view line = payload.substr(0, nl1);
  const size_t nl2 = payload.find('\n', nl1 + 1);
  if (nl2 == std::string_view::npos) return false;
  if (line.starts_with("2 ")) {
    return DecodeEvent(line.substr(2), payload.substr(nl1 + 1, nl2 - nl1 - 1),
                       payload.substr(nl2 + 1), seq, out, effect);
  }
  if (!line.starts_with("1 ")) return false;
  if (effect) *effect = EventEffect{};
  line.remove_prefix(2);
  uint64_t flags = 0, tag = 0, ts = 0;
  if (!base::TakeU64(&line, &flags) || !base::TakeU64(&line, &tag) || !base::TakeU64(&line, &ts))
    return false;
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
