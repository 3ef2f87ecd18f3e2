// Small helpers for writing JSON text by hand on the hot path (no DOM, no allocation beyond the
// output string). Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roomcast::json {

// Appends s as a JSON string literal, quotes included. s must be valid UTF-8; '"', '\\' and
// control characters are escaped (\n, \r, \t, \b, \f as short escapes, others as \u00XX).
// U+2028 and U+2029 are escaped too so the text is safe inside <script>.
void AppendString(std::string* out, std::string_view s);

// Appends a decimal integer.
void AppendInt(std::string* out, int64_t v);
void AppendUint(std::string* out, uint64_t v);

}  // namespace roomcast::json
