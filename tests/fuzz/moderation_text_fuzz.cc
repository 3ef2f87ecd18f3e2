// What moderation reads from users and moderators: the blocked-term list an admin PUTs
// (chat::ParseTermList, then compiled by Vectorscan) and the texts scanned against it, and the
// emote check of emote-only mode. The first byte picks the part; the rest is split in two at a
// NUL byte (list | text). Nothing crashes; a list that parses either compiles or names the
// pattern it could not; a mask verdict keeps the text's code point count, its non-masked code
// points and valid UTF-8.
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "chat/blocked_terms.h"
#include "chat/emote.h"
#include "fuzz_check.h"

using roomcast::chat::TermAction;
using roomcast::chat::TermLimits;
using roomcast::chat::TermRule;
using roomcast::chat::TermScratch;
using roomcast::chat::TermSet;

namespace {

void CheckMask(std::string_view text, const std::string& masked) {
  FUZZ_CHECK(roomcast::utf8::IsValid(masked));
  FUZZ_CHECK(roomcast::utf8::CountCodePoints(masked) == roomcast::utf8::CountCodePoints(text));
  FUZZ_CHECK(masked.size() <= text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static TermScratch scratch;
  roomcast::fuzz::ByteTaker in(data, size);
  const uint8_t which = in.Byte();
  const std::string_view rest = in.Rest();
  const size_t nul = rest.find('\0');
  const std::string_view list = rest.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  if (!roomcast::utf8::IsValid(text)) text = {};  // the server scans only valid UTF-8 texts

  if ((which & 1) != 0) {
    (void)roomcast::chat::IsEmoteOnly(rest);
    (void)roomcast::chat::IsEmote(rest);
    return 0;
  }
  // Small limits keep each compile quick.
  TermLimits limits{8, 20, 2, 40};
  std::vector<TermRule> rules;
  std::string error;
  if (!roomcast::chat::ParseTermList(list, limits, &rules, &error)) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  auto set = TermSet::Compile(rules, &error);
  if (!set) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  for (std::string_view t : {text, std::string_view("some ordinary words, and badly")}) {
    auto v = scratch.Scan(*set, t);
    if (v.matched && v.action == TermAction::kMask) CheckMask(t, v.masked);
    if (v.matched) FUZZ_CHECK(v.rule < rules.size());
  }
  return 0;
}
