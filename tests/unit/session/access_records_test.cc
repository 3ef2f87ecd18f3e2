// The access log's records driven by bytes (session/access_records.h): the target as logged
// (token values redacted however the key is spelled, client bytes escaped, bounded), one line per
// answered request, a WebSocket's line at its close with every byte it was sent, and 499 for a
// request its client left before the answer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "session_fakes.h"

namespace roomcast::session {
namespace {

using testing::Harness;

TEST(LoggedTarget, RedactsTokenValuesHoweverTheKeyIsSpelled) {
  EXPECT_EQ(LoggedTarget("/ws", "room=a&token=abc.def&x"), "/ws?room=a&token=<redacted>&x");
  EXPECT_EQ(LoggedTarget("/ws", "%74oken=s1&tok%65n=s2&to%6Ben=s3"),
            "/ws?%74oken=<redacted>&tok%65n=<redacted>&to%6Ben=<redacted>");
  EXPECT_EQ(LoggedTarget("/ws", "tokens=kept&xtoken=kept"), "/ws?tokens=kept&xtoken=kept");
  EXPECT_EQ(LoggedTarget("/a\"b\\c\x01\xff", ""), "/a\\x22b\\x5Cc\\x01\\xFF");
  const std::string long_path(5000, 'p');
  const std::string t = LoggedTarget(long_path, "token=secret");
  EXPECT_EQ(t.size(), kMaxLoggedTarget);
  EXPECT_EQ(t.substr(t.size() - 3), "...");
}

// A Harness whose access log goes to a temporary file.
struct Logged {
  Logged() : writer(0, &errors, &dropped) {
    char name[] = "/tmp/access_records_testXXXXXX";
    const int fd = mkstemp(name);
    close(fd);
    path = name;
    std::string err;
    writer.SetFile(AccessLogFile::Open(path, &err), 0);
  }
  ~Logged() { unlink(path.c_str()); }
  std::string Lines() {
    writer.Flush(h.out.now_ms);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::atomic<uint64_t> errors{0}, dropped{0};
  AccessLogWriter writer;
  std::string path;
  Harness h{testing::DevAuthConfig(), nullptr, &writer};
};

TEST(AccessRecords, OneLinePerAnsweredRequestWithItsUserAndBytes) {
  Logged l;
  l.h.Accept(1);
  l.h.Recv(1,
           "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /nope?user=bob HTTP/1.1\r\nHost: x\r\n\r\n");
  const size_t sent = l.h.out.Take(1).size();
  const std::string lines = l.Lines();
  const size_t nl = lines.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_NE(lines.find("\"GET /healthz\" 200 "), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"GET /nope?user=bob\" 404 "), std::string::npos) << lines;
  // Both answers' bytes, and nothing else, are in the two lines.
  const auto bytes_of = [](const std::string& line) {
    const size_t q = line.rfind('"');
    return std::strtoull(line.c_str() + q + 6, nullptr, 10);  // '" NNN ' then the bytes
  };
  EXPECT_EQ(bytes_of(lines.substr(0, nl)) + bytes_of(lines.substr(nl + 1)), sent);
}

TEST(AccessRecords, AWebSocketIsLoggedAtItsCloseWithEveryByteItWasSent) {
  Logged l;
  l.h.Accept(2);  // not an upgrade: 400, logged at once
  l.h.Recv(2, "GET /ws?room=lobby&token=t0p HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(l.Lines().find("\"GET /ws?room=lobby&token=<redacted>\" 400 "), std::string::npos)
      << l.Lines();
  l.h.Accept(3);
  l.h.Recv(3,
           "GET /ws?room=lobby&user=alice HTTP/1.1\r\nHost: x\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  mesh::JoinReply rep = l.h.JoinAnswer(5);
  l.h.sessions->OnAnswer(rep);
  l.h.Forward("lobby", 6, R"({"type":"msg","seq":6})");
  l.h.Idle(10);  // the batch goes out
  l.h.out.now_ms += 2000;
  const std::string before_close = l.Lines();
  EXPECT_EQ(before_close.find("101"), std::string::npos);  // an open session has no line yet
  const size_t sent = l.h.out.Take(3).size();
  l.h.Closed(3);
  const std::string lines = l.Lines().substr(before_close.size());
  EXPECT_NE(lines.find("- - alice ["), std::string::npos) << lines;
  EXPECT_NE(
      lines.find("\"GET /ws?room=lobby&user=alice\" 101 " + std::to_string(sent) + " 2.010 ws\n"),
      std::string::npos)
      << lines;
}

TEST(AccessRecords, ARequestItsClientLeftIs499) {
  Logged l;
  l.h.Accept(4);
  l.h.Recv(4, "GET /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n\r\n");  // asks the owner
  l.h.out.now_ms += 1500;
  l.h.Closed(4);
  const std::string lines = l.Lines();
  EXPECT_NE(lines.find("\"GET /rooms/lobby/messages\" 499 0 1.500 poll"), std::string::npos)
      << lines;
}

}  // namespace
}  // namespace roomcast::session
