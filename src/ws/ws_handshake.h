// RFC 6455 opening handshake: the Sec-WebSocket-Accept computation (SHA-1 from libcrypto, then
// base64) and the checks a server makes on the client's key. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace roomcast::ws {

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 characters.
[[nodiscard]] std::string AcceptKey(std::string_view client_key);

// A valid Sec-WebSocket-Key is the base64 of exactly 16 bytes (24 characters, "==" padded).
[[nodiscard]] bool IsValidClientKey(std::string_view client_key);

// The full "101 Switching Protocols" response for a valid key; extra_headers: whole header
// lines ("Name: value\r\n"), e.g. the accepted Sec-WebSocket-Extensions.
[[nodiscard]] std::string UpgradeResponse(std::string_view client_key,
                                          std::string_view extra_headers = {});

}  // namespace roomcast::ws
