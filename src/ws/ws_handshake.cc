#include "ws/ws_handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

namespace roomcast::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kSha1Bytes = 20;
constexpr size_t kAcceptChars = 28;  // base64 of 20 bytes, one '=' of padding
constexpr size_t kClientKeyChars = 24;

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string AcceptKey(std::string_view client_key) {
  // The key is at most a few dozen bytes; hashing key + GUID in one buffer avoids an EVP_MD_CTX.
  std::array<unsigned char, 128> input;
  std::array<unsigned char, kSha1Bytes> digest;
  EVP_MD_CTX* md = nullptr;
  unsigned int digest_len = 0;
  int ok;
  if (client_key.size() + kGuid.size() <= input.size()) {
    std::copy(client_key.begin(), client_key.end(), input.begin());
    std::copy(kGuid.begin(), kGuid.end(), input.begin() + client_key.size());
    ok = EVP_Digest(input.data(), client_key.size() + kGuid.size(), digest.data(), &digest_len,
                    EVP_sha1(), nullptr);
  } else {
    // Callers validate the key first, so this path only serves odd direct callers.
    md = EVP_MD_CTX_new();
    ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha1(), nullptr) &&
         EVP_DigestUpdate(md, client_key.data(), client_key.size()) &&
         EVP_DigestUpdate(md, kGuid.data(), kGuid.size()) &&
         EVP_DigestFinal_ex(md, digest.data(), &digest_len);
    EVP_MD_CTX_free(md);
  }
  if (!ok || digest_len != kSha1Bytes) {
    // SHA-1 from libcrypto cannot fail short of a broken installation; answering a handshake
    // with a wrong accept key would fail silently on the client, so stop loudly instead.
    std::fprintf(stderr, "roomcast: libcrypto SHA-1 failed\n");
    std::abort();
  }
  // EVP_EncodeBlock writes a terminating NUL after the 28 characters.
  std::array<unsigned char, kAcceptChars + 1> encoded;
  int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<size_t>(n));
}

bool IsValidClientKey(std::string_view client_key) {
  if (client_key.size() != kClientKeyChars) return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(client_key[i])) return false;
  }
  if (client_key[22] != '=' || client_key[23] != '=') return false;
  // 16 bytes use only the top 2 bits of the 22nd character; a canonical encoding leaves the
  // remaining 4 bits zero, which allows only these four characters.
  char last = client_key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

std::string UpgradeResponse(std::string_view client_key, std::string_view extra_headers) {
  std::string response;
  response.reserve(160);
  response.append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  response.append(AcceptKey(client_key));
  response.append("\r\n");
  response.append(extra_headers);
  response.append("\r\n");
  return response;
}

}  // namespace roomcast::ws
