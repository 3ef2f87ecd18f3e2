#include "room/hot_room.h"

#include <algorithm>

#include "room/room_owner.h"

namespace roomcast::room {

void RateWindow::Roll(uint64_t now_ms) {
  uint64_t s = now_ms / 1000;
  if (s <= second_) return;
  uint64_t steps = std::min<uint64_t>(s - second_, counts_.size());
  for (uint64_t k = 1; k <= steps; ++k) counts_[(second_ + k) % counts_.size()] = 0;
  second_ = s;
}

void RateWindow::Note(uint64_t now_ms, uint32_t n) {
  Roll(now_ms);
  counts_[second_ % counts_.size()] += n;
}

double RateWindow::PerSecond(uint64_t now_ms) {
  Roll(now_ms);
  uint64_t sum = 0;
  for (uint32_t k = 1; k <= kSeconds; ++k)
    sum += counts_[(second_ + counts_.size() - k) % counts_.size()];
  return static_cast<double>(sum) / kSeconds;
}

uint32_t RateWindow::ThisSecond(uint64_t now_ms) {
  Roll(now_ms);
  return counts_[second_ % counts_.size()];
}

bool HotRoom::NoteOrdinary(uint64_t now_ms, const HotPolicy& p) {
  rate_.Note(now_ms);
  RollTally(now_ms);
  ++tally_.total;
  bool shown = true;
  if (p.max_visible_rate != 0) {
    double cap = p.max_visible_rate;
    credit_ = std::min(
        cap, credit_ + static_cast<double>(now_ms - std::min(now_ms, credit_ms_)) * cap / 1000.0);
    credit_ms_ = now_ms;
    if (credit_ >= 1.0) {
      credit_ -= 1.0;
    } else {
      shown = false;
    }
  }
  tally_.shown += shown ? 1 : 0;
  return shown;
}

void HotRoom::RollTally(uint64_t now_ms) {
  uint64_t s = now_ms / 1000;
  if (s == tally_second_) return;
  done_ = tally_;
  tally_ = {};
  tally_second_ = s;
}

HotRoom::SecondTally HotRoom::TakeSampledTally(uint64_t now_ms) {
  RollTally(now_ms);
  SecondTally t = done_;
  done_ = {};
  if (t.shown == t.total) return {};  // nothing was sampled out
  return t;
}

bool HotRoom::Quiet(uint64_t now_ms) {
  RollTally(now_ms);
  return !Hot() && rate_.PerSecond(now_ms) == 0 && rate_.ThisSecond(now_ms) == 0 &&
         tally_.total == 0 && done_.total == 0;
}

bool HotRoom::Update(uint64_t now_ms, const HotPolicy& p) {
  double rate = rate_.PerSecond(now_ms);
  sampling_ = p.max_visible_rate != 0 && rate > p.max_visible_rate;
  if (p.hot_msgs_per_sec == 0) {
    bool changed = auto_slow_;
    auto_slow_ = false;
    return changed;
  }
  if (!auto_slow_) {
    if (rate > p.hot_msgs_per_sec) {
      auto_slow_ = true;
      calm_since_ms_ = 0;
      return true;
    }
    return false;
  }
  if (rate >= p.hot_msgs_per_sec / 2.0) {
    calm_since_ms_ = 0;
    return false;
  }
  if (calm_since_ms_ == 0) calm_since_ms_ = now_ms;
  if (now_ms - calm_since_ms_ >= uint64_t{p.cool_down_secs} * 1000) {
    auto_slow_ = false;
    calm_since_ms_ = 0;
    return true;
  }
  return false;
}

namespace {

bool EndsMention(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '\f':
    case '\v':
    case ',':
    case ';':
    case ':':
    case '!':
    case '?':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '<':
    case '>':
    case '"':
    case '\'':
    case '@':
      return true;
    default:
      return false;
  }
}

}  // namespace

void MentionTags(std::string_view text, std::vector<uint64_t>* out) {
  out->clear();
  size_t found = 0;
  for (size_t i = text.find('@'); i != std::string_view::npos && found < kMaxMentions;
       i = text.find('@', i + 1)) {
    size_t end = i + 1;
    while (end < text.size() && !EndsMention(text[end])) ++end;
    std::string_view name = text.substr(i + 1, end - i - 1);
    if (name.empty()) continue;
    ++found;
    out->push_back(UserTag(name));
    while (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (!name.empty() && name.size() != end - i - 1) out->push_back(UserTag(name));
    i = end - 1;
  }
}

}  // namespace roomcast::room
