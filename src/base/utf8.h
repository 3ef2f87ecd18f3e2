// UTF-8 validation and the text rules of the protocol. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace roomcast::utf8 {

// RFC 3629 validity: no overlongs, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
[[nodiscard]] bool IsValid(std::string_view s);

// Number of code points in valid UTF-8 text.
[[nodiscard]] size_t CountCodePoints(std::string_view s);

// True when s contains a control character other than '\n': C0 (U+0000..U+001F), DEL (U+007F)
// or C1 (U+0080..U+009F). s must be valid UTF-8.
[[nodiscard]] bool HasForbiddenControl(std::string_view s);

}  // namespace roomcast::utf8
