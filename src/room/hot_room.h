// A hot room's two reflexes (PROTOCOL.md, "Presence, counts and hot rooms"), decided at the owner:
// automatic slow mode when the ordinary message rate passes --hot-msgs-per-sec (lifted when it
// stays under half of that for a minute), and one sample of at most --max-visible-rate ordinary
// messages a second that every viewer gets alike. Plain data, driven by plain calls in tests.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace roomcast::room {

// Messages per second over the last few whole seconds.
class RateWindow {
 public:
  static constexpr uint32_t kSeconds = 5;
  void Note(uint64_t now_ms, uint32_t n = 1);
  // The mean rate over the last kSeconds whole seconds (the current one not counted).
  [[nodiscard]] double PerSecond(uint64_t now_ms);
  // Messages noted in the current second so far.
  [[nodiscard]] uint32_t ThisSecond(uint64_t now_ms);

 private:
  void Roll(uint64_t now_ms);
  std::array<uint32_t, kSeconds + 1> counts_{};
  uint64_t second_ = 0;
};

struct HotPolicy {
  uint32_t hot_msgs_per_sec = 50;  // --hot-msgs-per-sec (0: never automatic)
  uint32_t max_visible_rate = 30;  // --max-visible-rate (0: never sampled)
  uint32_t auto_slow_secs = 3;     // the slow_secs automatic slow mode sets
  uint32_t cool_down_secs = 60;    // under half the rate this long lifts it
};

class HotRoom {
 public:
  // An ordinary message was sequenced at now_ms. Returns whether viewers see it (false: sampled
  // out). Priority messages, moderation events and the like never come here.
  [[nodiscard]] bool NoteOrdinary(uint64_t now_ms, const HotPolicy& p);
  // Once a second or so: turns automatic slow mode on or off. True when it changed (the owner then
  // sends `state`).
  [[nodiscard]] bool Update(uint64_t now_ms, const HotPolicy& p);
  [[nodiscard]] bool AutoSlow() const { return auto_slow_; }
  // Sampling now: the last second's ordinary rate was over --max-visible-rate.
  [[nodiscard]] bool Sampling() const { return sampling_; }
  [[nodiscard]] double Rate(uint64_t now_ms) { return rate_.PerSecond(now_ms); }
  // The last whole second with ordinary messages, once: how many were shown and how many there
  // were (for the `sampled` markers). Both zero when nothing was sampled out.
  struct SecondTally {
    uint32_t shown = 0;
    uint32_t total = 0;
  };
  [[nodiscard]] SecondTally TakeSampledTally(uint64_t now_ms);
  // Start-up replay found automatic slow mode on: it stays until the room cools down.
  void ResumeAutoSlow() { auto_slow_ = true; }
  // Nothing left to watch: not hot, and no ordinary message in the rate window, this second or
  // a tally not taken yet.
  [[nodiscard]] bool Quiet(uint64_t now_ms);
  // Hot now: automatic slow mode's detector is on, or the room is sampled.
  [[nodiscard]] bool Hot() const { return auto_slow_ || sampling_; }

  // The owner's bookkeeping: on its list of rooms checked each second; `hot` as last announced.
  bool watched = false;
  bool announced_hot = false;

 private:
  RateWindow rate_;
  bool auto_slow_ = false;
  bool sampling_ = false;
  uint64_t calm_since_ms_ = 0;  // under half the hot rate since then (0: not calm)
  // The sample: a budget of max_visible_rate a second, refilled evenly.
  double credit_ = 0;
  uint64_t credit_ms_ = 0;
  void RollTally(uint64_t now_ms);
  uint64_t tally_second_ = 0;
  SecondTally tally_;  // the current second's
  SecondTally done_;   // the last completed second's, until taken
};

// The user tags (room::UserTag) a text mentions as `@<sub>`: a run of bytes after '@' up to white
// space or one of ,;:!?()[]{}<>"' (and, when it ends in dots, that run without them too). At
// most kMaxMentions mentions are read, in text order; *out is cleared first.
inline constexpr size_t kMaxMentions = 8;
void MentionTags(std::string_view text, std::vector<uint64_t>* out);

}  // namespace roomcast::room
