// roomcast-termscan: how long the blocked-term matcher takes per message (issue 11's "matcher
// p99 on 500-byte texts"). Compiles a list like a busy room's (1000 terms with every wildcard
// form and action, 10 regexes) and times TermScratch::Scan on each of N texts of B bytes of
// words (a few of them hitting a term), one call at a time with CLOCK_MONOTONIC.
//
//   roomcast-termscan [--texts N] [--bytes B] [--terms T] [--regexes R] [--hit-every K]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "chat/blocked_terms.h"
#include "term_rules.h"

namespace {

using roomcast::chat::TermRule;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Options {
  size_t texts = 200'000, bytes = 500, terms = 1000, regexes = 10, hit_every = 50;
};

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--texts"))
      o->texts = v;
    else if (!std::strcmp(argv[i], "--bytes"))
      o->bytes = v;
    else if (!std::strcmp(argv[i], "--terms"))
      o->terms = v;
    else if (!std::strcmp(argv[i], "--regexes"))
      o->regexes = v;
    else if (!std::strcmp(argv[i], "--hit-every"))
      o->hit_every = v;
    else
      return false;
  }
  return argc % 2 == 1 && o->texts > 0 && o->bytes > 0 && o->terms <= 1000 && o->regexes <= 10;
}

// Words a chat has: letters, some digits; "term<i>" forms are the blocked ones.
std::string Word(std::mt19937_64& rng) {
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyz";
  std::string w;
  const size_t n = 2 + rng() % 8;
  for (size_t i = 0; i < n; ++i) w += kLetters[rng() % 26];
  return w;
}

std::vector<TermRule> Rules(const Options& o) {
  return roomcast::bench::TermRules(o.terms, o.regexes);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: roomcast-termscan [--texts N] [--bytes B] [--terms T<=1000] "
                 "[--regexes R<=10] [--hit-every K]\n");
    return 2;
  }
  std::string error;
  const uint64_t c0 = NowNs();
  auto set = roomcast::chat::TermSet::Compile(Rules(o), &error);
  const uint64_t compile_ns = NowNs() - c0;
  if (!set) {
    std::fprintf(stderr, "compile failed: %s\n", error.c_str());
    return 1;
  }
  std::mt19937_64 rng(42);
  std::vector<std::string> texts(o.texts);
  for (size_t i = 0; i < o.texts; ++i) {
    std::string& t = texts[i];
    while (t.size() < o.bytes) t += Word(rng) + " ";
    if (o.hit_every && i % o.hit_every == 0) t.replace(t.size() / 2, 9, " blk7word");
    t.resize(o.bytes);
  }
  roomcast::chat::TermScratch scratch;
  (void)scratch.Scan(*set, texts[0]);  // grows the scratch once, as a shard's first message does
  std::vector<uint64_t> ns(o.texts);
  size_t matched = 0;
  for (size_t i = 0; i < o.texts; ++i) {
    const uint64_t t0 = NowNs();
    const auto v = scratch.Scan(*set, texts[i]);
    ns[i] = NowNs() - t0;
    matched += v.matched;
  }
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    return static_cast<double>(ns[static_cast<size_t>(q * (ns.size() - 1))]) / 1000.0;
  };
  double sum = 0;
  for (uint64_t v : ns) sum += static_cast<double>(v);
  std::printf("rules: %zu terms + %zu regexes, compiled in %.1f ms\n", o.terms, o.regexes,
              static_cast<double>(compile_ns) / 1e6);
  std::printf("texts: %zu of %zu bytes, %zu matched\n", o.texts, o.bytes, matched);
  std::printf("scan us: mean %.2f  p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
              sum / static_cast<double>(ns.size()) / 1000.0, at(0.5), at(0.99), at(0.999), at(1.0));
  return 0;
}
