#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "longpoll/poll_cursor.h"

namespace roomcast::longpoll {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kSeqBytes = 8;
constexpr size_t kTagBytes = 16;
constexpr size_t kSha256Bytes = 32;
// version + seq + two length bytes + the longest epoch and room + tag = 123 bytes, 164 chars.
constexpr size_t kMaxPayloadBytes =
    1 + kSeqBytes + 1 + kMaxCursorEpochBytes + 1 + kMaxCursorRoomBytes + kTagBytes;
static_assert((kMaxPayloadBytes * 4 + 2) / 3 <= kMaxCursorChars);
constexpr size_t kHexKeyChars = kCursorKeyBytes * 2;
constexpr char kKeyFileName[] = "cursor.key";

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "roomcast poll_cursor: %s\n", what);
  std::abort();
}

// -1 for any byte outside the base64url alphabet (so '+', '/', '=' and NUL are all refused).
int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

void EncodeBase64Url(const uint8_t* in, size_t n, std::string* out) {
  out->reserve(out->size() + (n * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out->push_back(kBase64Url[(v >> 18) & 63]);
    out->push_back(kBase64Url[(v >> 12) & 63]);
    out->push_back(kBase64Url[(v >> 6) & 63]);
    out->push_back(kBase64Url[v & 63]);
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    out->push_back(kBase64Url[(v >> 18) & 63]);
    out->push_back(kBase64Url[(v >> 12) & 63]);
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out->push_back(kBase64Url[(v >> 18) & 63]);
    out->push_back(kBase64Url[(v >> 12) & 63]);
    out->push_back(kBase64Url[(v >> 6) & 63]);
  }
}

// Strict: refuses a length of 1 mod 4 and non-zero bits in the last character's unused low bits,
// so every byte string has exactly one accepted text (a flipped padding bit cannot pass).
// Returns the number of bytes written, or -1; `out` must hold (text.size() * 3) / 4 bytes.
int DecodeBase64Url(std::string_view text, uint8_t* out) {
  if (text.size() % 4 == 1) return -1;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64UrlValue(c);
    if (v < 0) return -1;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<uint8_t>(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return -1;  // leftover bits must be zero
  return static_cast<int>(o);
}

void Tag(const std::array<uint8_t, kCursorKeyBytes>& key, const uint8_t* data, size_t n,
         uint8_t* tag) {
  uint8_t mac[kSha256Bytes];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, n, mac, &mac_len) ==
          nullptr ||
      mac_len != kSha256Bytes) {
    // Cannot fail short of a broken libcrypto; an unsigned cursor must never go out.
    Die("HMAC-SHA256 failed");
  }
  std::memcpy(tag, mac, kTagBytes);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Reads the whole (small) file; false with *error on an I/O problem.
bool ReadSmallFile(int fd, const std::string& path, std::string* content, std::string* error) {
  char buf[128];
  content->clear();
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = ErrnoText("cannot read", path);
      return false;
    }
    if (n == 0) return true;
    content->append(buf, static_cast<size_t>(n));
    if (content->size() > kHexKeyChars + 2) return true;  // already too long to be a key
  }
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool CreateKeyFile(const std::string& data_dir, const std::string& path, std::vector<uint8_t>* key,
                   std::string* error) {
  std::vector<uint8_t> fresh = RandomCursorKey();
  std::string hex;
  for (uint8_t b : fresh) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 15]);
  }
  hex.push_back('\n');

  // mkstemp creates the file with mode 0600; fchmod makes that exact whatever the umask.
  std::string tmp = path + ".XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    *error = ErrnoText("cannot create a temp file in", data_dir);
    return false;
  }
  bool ok = fchmod(fd, 0600) == 0 && WriteAll(fd, hex) && fsync(fd) == 0;
  if (!ok) *error = ErrnoText("cannot write", tmp);
  if (close(fd) != 0 && ok) {
    ok = false;
    *error = ErrnoText("cannot write", tmp);
  }
  if (ok && rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    *error = ErrnoText("cannot rename " + tmp + " to", path);
  }
  if (!ok) {
    unlink(tmp.c_str());
    return false;
  }
  // Make the rename durable: a key lost in a crash would turn every outstanding cursor into a 400.
  const int dir_fd = open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  *key = std::move(fresh);
  return true;
}

}  // namespace

CursorCodec::CursorCodec(std::span<const uint8_t> key) {
  if (key.size() != kCursorKeyBytes) Die("cursor key must be 32 bytes");
  std::memcpy(key_.data(), key.data(), kCursorKeyBytes);
}

std::string CursorCodec::Encode(const Cursor& c) const {
  if (c.epoch.size() > kMaxCursorEpochBytes) Die("epoch longer than 32 bytes");
  if (c.room.size() > kMaxCursorRoomBytes) Die("room longer than 64 bytes");
  uint8_t buf[kMaxPayloadBytes];
  size_t n = 0;
  buf[n++] = kVersion;
  for (size_t i = 0; i < kSeqBytes; ++i) buf[n++] = static_cast<uint8_t>(c.seq >> (8 * i));
  buf[n++] = static_cast<uint8_t>(c.epoch.size());
  std::memcpy(buf + n, c.epoch.data(), c.epoch.size());
  n += c.epoch.size();
  buf[n++] = static_cast<uint8_t>(c.room.size());
  std::memcpy(buf + n, c.room.data(), c.room.size());
  n += c.room.size();
  Tag(key_, buf, n, buf + n);
  n += kTagBytes;
  std::string out;
  EncodeBase64Url(buf, n, &out);
  return out;
}

CursorError CursorCodec::Decode(std::string_view text, Cursor* out) const {
  if (text.empty() || text.size() > kMaxCursorChars) return CursorError::kMalformed;
  uint8_t buf[kMaxCursorChars * 3 / 4];
  const int decoded = DecodeBase64Url(text, buf);
  if (decoded < 0) return CursorError::kMalformed;
  const size_t n = static_cast<size_t>(decoded);

  // Every read below is preceded by a check that the bytes are there.
  constexpr size_t kMinBytes = 1 + kSeqBytes + 1 + 1 + kTagBytes;
  if (n < kMinBytes || n > kMaxPayloadBytes) return CursorError::kMalformed;
  if (buf[0] != kVersion) return CursorError::kMalformed;
  const size_t body = n - kTagBytes;  // bytes covered by the tag
  size_t pos = 1;
  uint64_t seq = 0;
  for (size_t i = 0; i < kSeqBytes; ++i) seq |= uint64_t{buf[pos + i]} << (8 * i);
  pos += kSeqBytes;
  const size_t epoch_len = buf[pos++];
  if (epoch_len > kMaxCursorEpochBytes || pos + epoch_len + 1 > body)
    return CursorError::kMalformed;
  const size_t epoch_pos = pos;
  pos += epoch_len;
  const size_t room_len = buf[pos++];
  if (room_len > kMaxCursorRoomBytes || pos + room_len != body) return CursorError::kMalformed;
  const size_t room_pos = pos;

  uint8_t expected[kTagBytes];
  Tag(key_, buf, body, expected);
  if (CRYPTO_memcmp(expected, buf + body, kTagBytes) != 0) return CursorError::kBadSignature;

  out->seq = seq;
  out->epoch.assign(reinterpret_cast<const char*>(buf + epoch_pos), epoch_len);
  out->room.assign(reinterpret_cast<const char*>(buf + room_pos), room_len);
  return CursorError::kNone;
}

std::vector<uint8_t> RandomCursorKey() {
  std::vector<uint8_t> key(kCursorKeyBytes);
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    // A predictable key would let anyone forge cursors; there is no safe fallback.
    Die("RAND_bytes failed");
  }
  return key;
}

bool ParseHexKey(std::string_view hex, std::vector<uint8_t>* key) {
  if (hex.size() != kHexKeyChars) return false;
  std::vector<uint8_t> bytes(kCursorKeyBytes);
  for (size_t i = 0; i < kCursorKeyBytes; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  *key = std::move(bytes);
  return true;
}

bool LoadOrCreateCursorKey(const std::string& data_dir, std::vector<uint8_t>* key,
                           std::string* error) {
  const std::string path = data_dir + "/" + kKeyFileName;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return CreateKeyFile(data_dir, path, key, error);
    *error = ErrnoText("cannot open", path);
    return false;
  }
  std::string content;
  const bool read_ok = ReadSmallFile(fd, path, &content, error);
  close(fd);
  if (!read_ok) return false;
  std::string_view hex = content;
  if (!hex.empty() && hex.back() == '\n') hex.remove_suffix(1);
  if (!ParseHexKey(hex, key)) {
    *error = path + " is malformed: expected 64 hex characters and an optional newline";
    return false;
  }
  return true;
}

}  // namespace roomcast::longpoll
