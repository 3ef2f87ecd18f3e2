// The results of a run, in order: printed as a human table (label, value, unit) and, with --json,
// as one JSON object on one line whose keys are stable names for scripts. Parent process only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace roomcast::load {

class Report {
 public:
  explicit Report(std::string scenario) : scenario_(std::move(scenario)) {}

  // Starts a titled group of rows in the table (no effect on the JSON).
  void Section(std::string title);
  void Int(std::string key, std::string label, long long value, std::string unit = "");
  // decimals: digits after the point in the table (the JSON keeps more).
  void Num(std::string key, std::string label, double value, std::string unit = "",
           int decimals = 2);
  void Text(std::string key, std::string label, std::string value);
  // A value that could not be measured: "n/a" in the table, null in the JSON.
  void Missing(std::string key, std::string label);

  void PrintTable() const;
  void PrintJsonLine() const;

 private:
  struct Row {
    std::string key, label, shown, json;  // key empty: a section title held in label
  };
  std::string scenario_;
  std::vector<Row> rows_;
};

}  // namespace roomcast::load
