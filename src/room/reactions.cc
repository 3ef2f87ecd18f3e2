#include "room/reactions.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/json_writer.h"

namespace roomcast::room {

bool ReactionWindow::Add(std::string_view emote) {
  auto it = counts_.find(emote);
  if (it != counts_.end()) {
    ++it->second;
    return true;
  }
  if (counts_.size() >= kMaxKinds) {
    ++dropped_;
    return false;
  }
  counts_.emplace(std::string(emote), 1);
  return true;
}

std::string ReactionWindow::TakeCounts() {
  if (counts_.empty()) return "{}";
  std::vector<std::pair<std::string, uint64_t>> sorted(counts_.begin(), counts_.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  counts_.clear();
  std::string out = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i != 0) out += ',';
    json::AppendString(&out, sorted[i].first);
    out += ':';
    json::AppendUint(&out, sorted[i].second);
  }
  out += '}';
  return out;
}

std::string ReactionWindow::EventJson(std::string_view room, uint32_t window_ms,
                                      std::string_view counts) {
  std::string out = R"({"type":"reactions","room":)";
  json::AppendString(&out, room);
  out += R"(,"window_ms":)";
  json::AppendUint(&out, window_ms);
  out += R"(,"counts":)";
  out += counts;
  out += '}';
  return out;
}

}  // namespace roomcast::room
