// Blocked terms (PROTOCOL.md, "Moderation"): a room's terms and regexes, and the server-wide
// ones, compiled into one Vectorscan database per room and checked against every ordinary message
// at the room's owner. A term is a word, case-insensitive, with '*' at its start and/or end for
// "words ending / starting with" or "anywhere in a word"; a regex is taken as written (UTF-8).
// Each rule has an action: reject the message, mask what matched with '*', or hold the message
// for a moderator.
//
// A TermSet is immutable once compiled and may be shared by every shard; scanning needs a
// TermScratch, one per shard (Vectorscan's scratch space is not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace roomcast::chat {

// In rising severity: when rules with different actions match, the most severe one decides.
enum class TermAction : uint8_t { kMask = 0, kHold = 1, kReject = 2 };
[[nodiscard]] std::string_view TermActionName(TermAction a);

struct TermRule {
  std::string pattern;
  TermAction action = TermAction::kReject;
  bool regex = false;
};

struct TermLimits {
  size_t max_terms = 1000;     // per list (a room's, or the server-wide one)
  size_t max_term_chars = 60;  // code points, '*' not counted
  size_t max_regexes = 10;
  size_t max_regex_chars = 260;  // code points
};

// Parses a PUT body {"terms":[{"pattern","action"}],"regex":[{"pattern","action"}]} (either
// array may be absent; "action" defaults to "reject"). False with *error naming the first bad
// rule (its pattern) or the limit passed.
[[nodiscard]] bool ParseTermList(std::string_view json, const TermLimits& limits,
                                 std::vector<TermRule>* rules, std::string* error);
// The rules as the GET body writes them (the same shape ParseTermList reads).
[[nodiscard]] std::string TermListJson(const std::vector<TermRule>& rules);

class TermSet {
 public:
  // Compiles `rules` (a room's followed by the server-wide ones). Null with *error naming the
  // pattern the compiler refused. An empty rule list compiles to an empty set (Matches nothing).
  static std::shared_ptr<const TermSet> Compile(std::vector<TermRule> rules, std::string* error);
  ~TermSet();
  TermSet(const TermSet&) = delete;
  TermSet& operator=(const TermSet&) = delete;

  [[nodiscard]] bool Empty() const { return db_ == nullptr; }
  [[nodiscard]] const std::vector<TermRule>& Rules() const { return rules_; }

 private:
  friend class TermScratch;
  TermSet() = default;
  std::vector<TermRule> rules_;
  hs_database* db_ = nullptr;
  uint64_t serial_ = 0;  // tells scratches apart sets they have been grown for
};

// What a scan found: no match, or the most severe action matched, and for kMask the text with
// every masked code point replaced by '*'.
struct TermVerdict {
  bool matched = false;
  TermAction action = TermAction::kMask;
  std::string masked;  // only for a kMask verdict
  uint32_t rule = 0;   // the index in Rules() of a rule with the deciding action
};

class TermScratch {
 public:
  TermScratch() = default;
  ~TermScratch();
  TermScratch(const TermScratch&) = delete;
  TermScratch& operator=(const TermScratch&) = delete;

  // Scans `text` (valid UTF-8) against `set`. Grows the scratch for a set it has not seen.
  [[nodiscard]] TermVerdict Scan(const TermSet& set, std::string_view text);

 private:
  static constexpr size_t kSeenMax = 64;
  hs_scratch* scratch_ = nullptr;
  std::vector<uint64_t> seen_;  // serials of the sets the scratch has been grown for
};

}  // namespace roomcast::chat
