// What the fuzz targets share: an invariant check that stops the run loudly (libFuzzer saves the
// input as a crash), whatever NDEBUG says, and a reader that splits the fuzzer's bytes into
// parameters and the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace roomcast::fuzz {

// Takes parameter bytes from the front of the input; a short input yields zeros.
class ByteTaker {
 public:
  ByteTaker(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  // The bytes not taken yet.
  std::string_view Rest() const {
    return std::string_view(reinterpret_cast<const char*>(data_), size_);
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

// True when view lies entirely inside whole (an empty view is anywhere).
inline bool Inside(std::string_view view, std::string_view whole) {
  return view.empty() ||
         (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size());
}

}  // namespace roomcast::fuzz
