// The blocked-term list the benchmarks use: 1000 terms in every wildcard form and action, and
// 10 regexes; the load tool's texts (a stamp padded with 'x') match none of them.
#pragma once

#include <string>
#include <vector>

#include "chat/blocked_terms.h"

namespace roomcast::bench {

inline std::vector<chat::TermRule> TermRules(size_t terms = 1000, size_t regexes = 10) {
  std::vector<chat::TermRule> rules;
  const chat::TermAction actions[] = {chat::TermAction::kReject, chat::TermAction::kMask,
                                      chat::TermAction::kHold};
  for (size_t i = 0; i < terms; ++i) {
    const std::string w = "blk" + std::to_string(i) + "word";
    const std::string forms[] = {w, w + "*", "*" + w, "*" + w + "*"};
    rules.push_back({forms[i % 4], actions[i % 3], false});
  }
  const char* kRegexes[] = {"fr[e3]{2}\\s+m[o0]ney",
                            "b[i1]tc[o0]in\\s+x\\d+",
                            "(?i)casino\\d{2,}",
                            "w+w+w+\\.",
                            "[a-z]+@[a-z]+\\.(ru|cn)",
                            "s+p+a+m+!{3,}",
                            "(?i)click\\s+here",
                            "\\d{4}-\\d{4}-\\d{4}",
                            "z{7,}q",
                            "buy\\s+now\\d"};
  for (size_t i = 0; i < regexes && i < 10; ++i) {
    rules.push_back({kRegexes[i], chat::TermAction::kReject, true});
  }
  return rules;
}

}  // namespace roomcast::bench
