// base64url (RFC 4648 section 5) without padding, as JSON Web Tokens use it. Pure, any thread.
#pragma once

#include <string>
#include <string_view>

namespace roomcast::auth {

// Appends the decoding of `in` to *out. False on a character outside the alphabet, on '=' padding,
// on a length no encoding has (4k+1), or on non-zero bits left over in the last character.
[[nodiscard]] bool DecodeBase64Url(std::string_view in, std::string* out);

[[nodiscard]] std::string EncodeBase64Url(std::string_view in);

}  // namespace roomcast::auth
