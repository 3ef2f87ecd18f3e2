// Table and JSON rendering for report.h.
#include "report.h"

#include <cmath>
#include <cstdio>

namespace roomcast::load {

namespace {

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

void Report::Section(std::string title) { rows_.push_back({"", std::move(title), "", ""}); }

void Report::Int(std::string key, std::string label, long long value, std::string unit) {
  std::string shown = std::to_string(value);
  if (!unit.empty()) shown += " " + unit;
  rows_.push_back({std::move(key), std::move(label), std::move(shown), std::to_string(value)});
}

void Report::Num(std::string key, std::string label, double value, std::string unit, int decimals) {
  if (!std::isfinite(value)) return Missing(std::move(key), std::move(label));
  char shown[64], json[64];
  std::snprintf(shown, sizeof shown, "%.*f%s%s", decimals, value, unit.empty() ? "" : " ",
                unit.c_str());
  std::snprintf(json, sizeof json, "%.6g", value);
  rows_.push_back({std::move(key), std::move(label), shown, json});
}

void Report::Text(std::string key, std::string label, std::string value) {
  std::string json = JsonQuote(value);
  rows_.push_back({std::move(key), std::move(label), std::move(value), std::move(json)});
}

void Report::Missing(std::string key, std::string label) {
  rows_.push_back({std::move(key), std::move(label), "n/a", "null"});
}

void Report::PrintTable() const {
  std::printf("roomcast-load %s\n", scenario_.c_str());
  for (const Row& r : rows_) {
    if (r.key.empty()) {
      std::printf("\n  %s\n", r.label.c_str());
      continue;
    }
    std::printf("    %-36s %s\n", r.label.c_str(), r.shown.c_str());
  }
  std::fflush(stdout);
}

void Report::PrintJsonLine() const {
  std::string out = "{\"scenario\":" + JsonQuote(scenario_);
  for (const Row& r : rows_) {
    if (r.key.empty()) continue;
    out += ",";
    out += JsonQuote(r.key);
    out += ":";
    out += r.json;
  }
  out += "}";
  std::printf("%s\n", out.c_str());
  std::fflush(stdout);
}

}  // namespace roomcast::load
