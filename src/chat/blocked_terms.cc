#include "chat/blocked_terms.h"

#include <hs/hs.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

#include "base/json_writer.h"
#include "base/utf8.h"

namespace roomcast::chat {
namespace {

bool IsAsciiWordChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80 ? 1 : 0;
  return n;
}

// A term as a regex: its characters literally, with \b at a closed end ("bad" -> \bbad\b,
// "bad*" -> \bbad, "*bad*" -> bad). Vectorscan's \b knows only ASCII word characters (it refuses
// \b with Unicode properties), so a closed end gets \b only where the term's own character there
// is an ASCII letter, digit or '_'. Masking widens a match over the open ends (WidenToWord).
std::string TermRegex(std::string_view term) {
  bool open_start = term.front() == '*';
  bool open_end = term.size() > 1 && term.back() == '*';
  std::string_view core = term.substr(open_start ? 1 : 0);
  core = core.substr(0, core.size() - (open_end ? 1 : 0));
  std::string re;
  if (!open_start && IsAsciiWordChar(static_cast<unsigned char>(core.front()))) re += "\\b";
  for (unsigned char c : core) {
    if (c < 0x80 && !IsAsciiWordChar(c)) re += '\\';
    re += static_cast<char>(c);
  }
  if (!open_end && IsAsciiWordChar(static_cast<unsigned char>(core.back()))) re += "\\b";
  return re;
}

// A term's or regex's own rules (the compiler checks the rest).
// Counted repeats ({n}, {n,}, {n,m}) make the matcher's compile time and size grow with n, and
// nested ones multiply ("[0-9]{32222}" took over 10 s): each bound at most kMaxRepeat, all of a
// regex's bounds together at most kMaxRepeatSum. A '{' that does not start a count is a
// literal, as in PCRE.
constexpr uint64_t kMaxRepeat = 32;
constexpr uint64_t kMaxRepeatSum = 64;

bool RepeatsWithinBounds(std::string_view p) {
  uint64_t sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] != '{') continue;
    size_t j = i + 1;
    uint64_t n = 0;
    bool digits = false;
    for (; j < p.size() && ((p[j] >= '0' && p[j] <= '9') || p[j] == ','); ++j) {
      if (p[j] == ',') {
        sum += n;
        if (n > kMaxRepeat) return false;
        n = 0;
        continue;
      }
      digits = true;
      n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(p[j] - '0'), 1'000'000);
    }
    if (!digits || j >= p.size() || p[j] != '}') continue;  // not a count: a literal '{'
    sum += n;
    if (n > kMaxRepeat || sum > kMaxRepeatSum) return false;
  }
  return true;
}

bool CheckRule(const TermRule& r, const TermLimits& limits, std::string* error) {
  auto bad = [&](std::string_view why) {
    *error =
        std::string(r.regex ? "regex " : "term ") + "\"" + r.pattern + "\": " + std::string(why);
    return false;
  };
  if (!utf8::IsValid(r.pattern) || utf8::HasForbiddenControl(r.pattern)) {
    return bad("not valid UTF-8 text");
  }
  if (r.regex) {
    if (r.pattern.empty()) return bad("empty");
    if (CodePoints(r.pattern) > limits.max_regex_chars) return bad("over 260 characters");
    if (!RepeatsWithinBounds(r.pattern)) {
      return bad("counted repeats ({n}, {n,m}) may be at most 32 each and 64 in all");
    }
    return true;
  }
  std::string_view p = r.pattern;
  if (!p.empty() && p.front() == '*') p.remove_prefix(1);
  if (!p.empty() && p.back() == '*') p.remove_suffix(1);
  if (p.empty()) return bad("empty");
  if (p.find('*') != std::string_view::npos) return bad("'*' only at the start and/or the end");
  if (CodePoints(p) > limits.max_term_chars) return bad("over 60 characters");
  return true;
}

bool ParseAction(std::string_view s, TermAction* out) {
  if (s == "reject")
    *out = TermAction::kReject;
  else if (s == "mask")
    *out = TermAction::kMask;
  else if (s == "hold")
    *out = TermAction::kHold;
  else
    return false;
  return true;
}

std::atomic<uint64_t> g_next_serial{1};
constexpr TermLimits kNoLimits{SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};

// One of the two arrays: each item {"pattern":"...","action"?:"reject|mask|hold"}.
bool ParseRuleArray(simdjson::dom::element arr_el, bool regex, const TermLimits& limits,
                    std::vector<TermRule>* rules, std::string* error) {
  const char* what = regex ? "regex" : "terms";
  simdjson::dom::array arr;
  if (arr_el.get_array().get(arr) != simdjson::SUCCESS) {
    *error = std::string("\"") + what + "\" must be an array of {\"pattern\",\"action\"}";
    return false;
  }
  size_t max = regex ? limits.max_regexes : limits.max_terms;
  if (arr.size() > max) {
    *error = std::string("more than ") + std::to_string(max) + (regex ? " regexes" : " terms");
    return false;
  }
  for (simdjson::dom::element item : arr) {
    TermRule r;
    r.regex = regex;
    std::string_view pattern, action = "reject";
    if (item["pattern"].get_string().get(pattern) != simdjson::SUCCESS) {
      *error = std::string("each of \"") + what + "\" needs a string \"pattern\"";
      return false;
    }
    r.pattern = pattern;
    simdjson::dom::element a;
    if (item["action"].get(a) == simdjson::SUCCESS &&
        (a.get_string().get(action) != simdjson::SUCCESS || !ParseAction(action, &r.action))) {
      *error = std::string(regex ? "regex" : "term") + " \"" + r.pattern +
               "\": action must be reject, mask or hold";
      return false;
    }
    if (!CheckRule(r, limits, error)) return false;
    rules->push_back(std::move(r));
  }
  return true;
}

}  // namespace

std::string_view TermActionName(TermAction a) {
  switch (a) {
    case TermAction::kMask:
      return "mask";
    case TermAction::kHold:
      return "hold";
    case TermAction::kReject:
      return "reject";
  }
  return "reject";
}

bool ParseTermList(std::string_view json, const TermLimits& limits, std::vector<TermRule>* rules,
                   std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get_object().get(obj) != simdjson::SUCCESS) {
    *error = "the body must be a JSON object {\"terms\":[...],\"regex\":[...]}";
    return false;
  }
  rules->clear();
  for (auto field : obj) {
    if (field.key != "terms" && field.key != "regex") {
      *error = "unknown field \"" + std::string(field.key) + "\" (terms, regex)";
      return false;
    }
  }
  simdjson::dom::element el;
  if (obj["terms"].get(el) == simdjson::SUCCESS &&
      !ParseRuleArray(el, false, limits, rules, error)) {
    return false;
  }
  if (obj["regex"].get(el) == simdjson::SUCCESS &&
      !ParseRuleArray(el, true, limits, rules, error)) {
    return false;
  }
  return true;
}

std::string TermListJson(const std::vector<TermRule>& rules) {
  std::string out = "{";
  for (bool regex : {false, true}) {
    out += regex ? ",\"regex\":[" : "\"terms\":[";
    bool first = true;
    for (const TermRule& r : rules) {
      if (r.regex != regex) continue;
      out += first ? "{\"pattern\":" : ",{\"pattern\":";
      first = false;
      json::AppendString(&out, r.pattern);
      out += ",\"action\":\"";
      out += TermActionName(r.action);
      out += "\"}";
    }
    out += ']';
  }
  out += '}';
  return out;
}

TermSet::~TermSet() { hs_free_database(db_); }

std::shared_ptr<const TermSet> TermSet::Compile(std::vector<TermRule> rules, std::string* error) {
  std::shared_ptr<TermSet> set(new TermSet());
  set->rules_ = std::move(rules);
  set->serial_ = g_next_serial.fetch_add(1, std::memory_order_relaxed);
  if (set->rules_.empty()) return set;
  std::vector<std::string> exprs;
  std::vector<const char*> ptrs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < set->rules_.size(); ++i) {
    const TermRule& r = set->rules_[i];
    if (!CheckRule(r, kNoLimits, error)) return nullptr;
    exprs.push_back(r.regex ? r.pattern : TermRegex(r.pattern));
    unsigned f = HS_FLAG_UTF8 | (r.regex ? 0u : HS_FLAG_CASELESS);
    if (r.action == TermAction::kMask) {
      f |= HS_FLAG_SOM_LEFTMOST;  // masking needs where a match starts
    } else {
      f |= HS_FLAG_SINGLEMATCH;
    }
    flags.push_back(f);
    ids.push_back(static_cast<unsigned>(i));
  }
  for (const auto& e : exprs) ptrs.push_back(e.c_str());
  hs_compile_error_t* err = nullptr;
  unsigned mode = HS_MODE_BLOCK;
  if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()),
                       mode, nullptr, &set->db_, &err) != HS_SUCCESS) {
    int at = err != nullptr ? err->expression : -1;
    std::string why = err != nullptr && err->message != nullptr ? err->message : "cannot compile";
    hs_free_compile_error(err);
    if (at >= 0 && static_cast<size_t>(at) < set->rules_.size()) {
      const TermRule& r = set->rules_[static_cast<size_t>(at)];
      *error = std::string(r.regex ? "regex " : "term ") + "\"" + r.pattern + "\": " + why;
    } else {
      *error = why;
    }
    return nullptr;
  }
  return set;
}

TermScratch::~TermScratch() { hs_free_scratch(scratch_); }

namespace {

struct ScanState {
  const std::vector<TermRule>* rules;
  TermVerdict verdict;
  struct Hit {
    unsigned rule;
    size_t from, to;
  };
  std::vector<Hit> masks;
};

int OnMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned /*flags*/,
            void* ctx) {
  auto* st = static_cast<ScanState*>(ctx);
  TermAction a = (*st->rules)[id].action;
  if (!st->verdict.matched || a > st->verdict.action) {
    st->verdict.matched = true;
    st->verdict.action = a;
    st->verdict.rule = id;
  }
  if (a == TermAction::kMask) st->masks.push_back({id, from, to});
  return a == TermAction::kReject ? 1 : 0;  // nothing outranks a reject: stop there
}

// The code point starting at text[i] and its length in bytes (text is valid UTF-8).
uint32_t DecodeAt(std::string_view text, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(text[i + k])); };
  uint32_t c = b(0);
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if (c < 0xe0) {
    *len = 2;
    return ((c & 0x1f) << 6) | (b(1) & 0x3f);
  }
  if (c < 0xf0) {
    *len = 3;
    return ((c & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
  }
  *len = 4;
  return ((c & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
}

// Part of a word, for widening a masked match over a term's open end: ASCII letters, digits and
// '_', and every other character outside the Latin-1 symbols, the general and CJK punctuation
// blocks, the fullwidth ASCII symbols and the emoji planes (an approximation of Unicode's letters
// and digits without a Unicode table).
bool IsWordCodePoint(uint32_t c) {
  if (c < 0x80) return IsAsciiWordChar(static_cast<unsigned char>(c));
  if (c < 0xc0) return false;
  if (c == 0xd7 || c == 0xf7) return false;
  if (c >= 0x2000 && c <= 0x2bff) return false;
  if (c >= 0x3000 && c <= 0x303f) return false;
  if (c >= 0xfe30 && c <= 0xfe4f) return false;
  if (c >= 0xff00 && c <= 0xff20) return false;
  if (c >= 0x1f000 && c <= 0x1faff) return false;
  return true;
}

size_t PrevStart(std::string_view text, size_t i) {
  do {
    --i;
  } while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80);
  return i;
}

// Widens [*from, *to) over the word characters around it at a term's open ends ('*').
void WidenToWord(std::string_view text, const TermRule& r, size_t* from, size_t* to) {
  if (r.regex || r.pattern.empty()) return;
  size_t len = 0;
  if (r.pattern.front() == '*') {
    while (*from > 0) {
      size_t p = PrevStart(text, *from);
      if (!IsWordCodePoint(DecodeAt(text, p, &len))) break;
      *from = p;
    }
  }
  if (r.pattern.size() > 1 && r.pattern.back() == '*') {
    while (*to < text.size() && IsWordCodePoint(DecodeAt(text, *to, &len))) *to += len;
  }
}

// `text` with every code point that starts inside a masked range replaced by one '*'.
std::string Mask(std::string_view text, const std::vector<TermRule>& rules,
                 const std::vector<ScanState::Hit>& hits) {
  std::vector<bool> hit(text.size(), false);
  for (ScanState::Hit h : hits) {
    size_t from = std::min(h.from, text.size()), to = std::min(h.to, text.size());
    WidenToWord(text, rules[h.rule], &from, &to);
    for (size_t i = from; i < to; ++i) hit[i] = true;
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    DecodeAt(text, i, &len);
    len = std::min(len, text.size() - i);
    if (hit[i]) {
      out += '*';
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace

TermVerdict TermScratch::Scan(const TermSet& set, std::string_view text) {
  if (set.db_ == nullptr) return {};
  if (std::find(seen_.begin(), seen_.end(), set.serial_) == seen_.end()) {
    if (hs_alloc_scratch(set.db_, &scratch_) != HS_SUCCESS) {
      // Out of memory for the scratch: refuse rather than let a blocked term through.
      return {true, TermAction::kReject, {}, 0};
    }
    if (seen_.size() == kSeenMax) seen_.clear();
    seen_.push_back(set.serial_);
  }
  ScanState st{&set.rules_, {}, {}};
  hs_scan(set.db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch_, OnMatch, &st);
  if (st.verdict.matched && st.verdict.action == TermAction::kMask) {
    st.verdict.masked = Mask(text, set.rules_, st.masks);
  }
  return std::move(st.verdict);
}

}  // namespace roomcast::chat
