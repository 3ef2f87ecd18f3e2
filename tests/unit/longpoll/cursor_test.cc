#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "longpoll/poll_cursor.h"

namespace roomcast::longpoll {
namespace {

std::vector<uint8_t> FixedKey(uint8_t fill) { return std::vector<uint8_t>(kCursorKeyBytes, fill); }

bool IsBase64UrlText(const std::string& s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<Cursor> SampleCursors() {
  std::vector<Cursor> out;
  const std::vector<std::string> rooms = {"r", "lobby", "a.b:c-d_e", std::string(64, 'x'),
                                          std::string(63, 'y')};
  const std::vector<std::string> epochs = {"", "5f0c9a1e", std::string(32, 'e'),
                                           std::string("\0\xff", 2)};
  const std::vector<uint64_t> seqs = {
      0, 1, 255, 256, 0x0102030405060708ull, UINT64_MAX - 1, UINT64_MAX,
  };
  for (const auto& r : rooms)
    for (const auto& e : epochs)
      for (uint64_t s : seqs) out.push_back(Cursor{r, e, s});
  return out;
}

TEST(CursorCodec, RoundTripsAndStaysUrlSafe) {
  const auto key = FixedKey(7);
  CursorCodec codec(key);
  for (const Cursor& c : SampleCursors()) {
    const std::string text = codec.Encode(c);
    EXPECT_TRUE(IsBase64UrlText(text)) << text;
    EXPECT_LE(text.size(), kMaxCursorChars);
    Cursor back;
    ASSERT_EQ(codec.Decode(text, &back), CursorError::kNone) << text;
    EXPECT_EQ(back.room, c.room);
    EXPECT_EQ(back.epoch, c.epoch);
    EXPECT_EQ(back.seq, c.seq);
  }
}

TEST(CursorCodec, EverySingleBitFlipFails) {
  CursorCodec codec(FixedKey(7));
  for (const Cursor& c : {Cursor{"lobby", "5f0c9a1e", 41}, Cursor{std::string(64, 'x'), "", 0},
                          Cursor{"r", std::string(32, 'e'), UINT64_MAX}}) {
    const std::string text = codec.Encode(c);
    for (size_t i = 0; i < text.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = text;
        bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
        Cursor out;
        EXPECT_NE(codec.Decode(bad, &out), CursorError::kNone) << "char " << i << " bit " << bit;
      }
    }
  }
}

TEST(CursorCodec, EveryTruncationFails) {
  CursorCodec codec(FixedKey(7));
  const std::string text = codec.Encode(Cursor{"lobby", "5f0c9a1e", 41});
  for (size_t n = 0; n < text.size(); ++n) {
    Cursor out;
    EXPECT_NE(codec.Decode(text.substr(0, n), &out), CursorError::kNone) << n;
  }
}

TEST(CursorCodec, AnotherKeyIsABadSignature) {
  CursorCodec mine(FixedKey(7));
  CursorCodec theirs(FixedKey(8));
  for (const Cursor& c : SampleCursors()) {
    Cursor out;
    EXPECT_EQ(theirs.Decode(mine.Encode(c), &out), CursorError::kBadSignature);
  }
}

TEST(CursorCodec, GarbageIsMalformed) {
  CursorCodec codec(FixedKey(7));
  const std::string good = codec.Encode(Cursor{"lobby", "5f0c9a1e", 41});
  std::vector<std::string> bad = {
      "",
      "A",
      "AAAA",
      "not a cursor",
      std::string(kMaxCursorChars + 1, 'A'),
      std::string(kMaxCursorChars, 'A'),  // decodes, but far too long a payload
      good + "==",
      good + "AAAA",  // trailing bytes
      std::string("\0", 1) + good,
  };
  // Standard base64 characters and padding are not base64url.
  for (char c : {'+', '/', '='}) {
    std::string s = good;
    s[s.size() / 2] = c;
    bad.push_back(s);
  }
  for (const std::string& s : bad) {
    Cursor out;
    EXPECT_EQ(codec.Decode(s, &out), CursorError::kMalformed) << s;
  }
}

TEST(CursorCodec, DecodeLeavesOutputAloneOnFailure) {
  CursorCodec codec(FixedKey(7));
  Cursor out{"keep", "me", 9};
  EXPECT_NE(codec.Decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &out), CursorError::kNone);
  EXPECT_EQ(out.room, "keep");
  EXPECT_EQ(out.seq, 9u);
}

TEST(CursorCodec, RandomInputsNeverDecode) {
  // Any successful decode of random text would need a 128-bit tag guess; this mostly exercises
  // the length checks (run under ASan to prove no out-of-bounds read).
  CursorCodec codec(FixedKey(7));
  uint64_t state = 12345;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 20000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    std::string s((state >> 33) % 200, 'A');
    for (char& ch : s) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      ch = alphabet[(state >> 33) % alphabet.size()];
    }
    Cursor out;
    EXPECT_NE(codec.Decode(s, &out), CursorError::kNone) << s;
  }
}

TEST(CursorKey, ParseHexKey) {
  std::vector<uint8_t> key;
  EXPECT_TRUE(ParseHexKey(std::string(64, 'a'), &key));
  EXPECT_EQ(key, std::vector<uint8_t>(32, 0xaa));
  EXPECT_TRUE(
      ParseHexKey("00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", &key));
  EXPECT_EQ(key[1], 0x11);
  EXPECT_EQ(key[31], 0xff);
  EXPECT_FALSE(ParseHexKey(std::string(63, 'a'), &key));
  EXPECT_FALSE(ParseHexKey(std::string(65, 'a'), &key));
  EXPECT_FALSE(ParseHexKey(std::string(62, 'a') + "g0", &key));
  EXPECT_FALSE(ParseHexKey(std::string(64, 'a') + "\n", &key));
  EXPECT_FALSE(ParseHexKey("", &key));
}

TEST(CursorKey, RandomKeysDiffer) {
  const auto a = RandomCursorKey();
  const auto b = RandomCursorKey();
  EXPECT_EQ(a.size(), kCursorKeyBytes);
  EXPECT_NE(a, b);
}

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/longpoll_key_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    chmod(dir_.c_str(), 0700);
    std::filesystem::remove_all(dir_);
  }
  std::string KeyPath() const { return dir_ + "/cursor.key"; }
  void WriteKeyFile(const std::string& content) const {
    std::ofstream(KeyPath(), std::ios::binary) << content;
  }
  std::string dir_;
};

TEST_F(KeyFile, CreatedOnceThenReloaded) {
  std::vector<uint8_t> first, second;
  std::string error;
  ASSERT_TRUE(LoadOrCreateCursorKey(dir_, &first, &error)) << error;
  EXPECT_EQ(first.size(), kCursorKeyBytes);
  struct stat st;
  ASSERT_EQ(stat(KeyPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(LoadOrCreateCursorKey(dir_, &second, &error)) << error;
  EXPECT_EQ(first, second);
  // Nothing but the key is left in the directory (the temp file was renamed).
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST_F(KeyFile, ReadsAnOperatorWrittenKeyWithOrWithoutNewline) {
  const std::string hex(64, 'b');
  std::vector<uint8_t> key;
  std::string error;
  WriteKeyFile(hex);
  ASSERT_TRUE(LoadOrCreateCursorKey(dir_, &key, &error)) << error;
  EXPECT_EQ(key, std::vector<uint8_t>(32, 0xbb));
  WriteKeyFile(hex + "\n");
  ASSERT_TRUE(LoadOrCreateCursorKey(dir_, &key, &error)) << error;
  EXPECT_EQ(key, std::vector<uint8_t>(32, 0xbb));
}

TEST_F(KeyFile, MalformedFileIsAnErrorAndIsKept) {
  for (const std::string& content :
       {std::string(), std::string("short\n"), std::string(64, 'z'), std::string(64, 'a') + "\n\n",
        std::string(64, 'a') + " ", std::string(200, 'a')}) {
    WriteKeyFile(content);
    std::vector<uint8_t> key;
    std::string error;
    EXPECT_FALSE(LoadOrCreateCursorKey(dir_, &key, &error)) << content;
    EXPECT_NE(error.find("malformed"), std::string::npos) << error;
    std::ifstream in(KeyPath(), std::ios::binary);
    std::stringstream kept;
    kept << in.rdbuf();
    EXPECT_EQ(kept.str(), content) << "a malformed key file must never be replaced";
  }
}

TEST_F(KeyFile, MissingOrNonDirectoryDataDirIsAnError) {
  std::vector<uint8_t> key;
  std::string error;
  EXPECT_FALSE(LoadOrCreateCursorKey(dir_ + "/missing", &key, &error));
  EXPECT_FALSE(error.empty());
  const std::string file = dir_ + "/plain-file";
  std::ofstream(file) << "x";
  error.clear();
  EXPECT_FALSE(LoadOrCreateCursorKey(file, &key, &error));
  EXPECT_FALSE(error.empty());
}

// Root ignores directory permissions, and `make test` runs as root in CI: there the call runs in
// a child process that first drops to nobody (uid and gid 65534), for whom the directory is
// read-only. The child reports through its exit status: 0 = refused with an error message.
TEST_F(KeyFile, UnwritableDirIsAnError) {
  ASSERT_EQ(chmod(dir_.c_str(), 0555), 0);
  if (geteuid() != 0) {
    std::vector<uint8_t> key;
    std::string error;
    EXPECT_FALSE(LoadOrCreateCursorKey(dir_, &key, &error));
    EXPECT_FALSE(error.empty());
    return;
  }
  constexpr uid_t kNobody = 65534;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(3);
    std::vector<uint8_t> key;
    std::string error;
    if (LoadOrCreateCursorKey(dir_, &key, &error)) _exit(1);
    _exit(error.empty() ? 2 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: a key was created in a read-only directory; 2: no error message; 3: cannot drop root";
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));
}

}  // namespace
}  // namespace roomcast::longpoll
