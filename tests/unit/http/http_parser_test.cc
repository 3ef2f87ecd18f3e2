#include "http/http_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace roomcast::http {
namespace {

using namespace std::string_view_literals;

// Copies s into a heap block of exactly s.size() bytes so AddressSanitizer flags any read past
// the end, which a std::string (with its terminator and spare capacity) would hide.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view s) : size_(s.size()), data_(new char[s.size()]) {
    if (size_ > 0) std::memcpy(data_.get(), s.data(), size_);
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

// Parses a fresh exact-size copy of s. The copy stays alive until the next call, so a test may
// read the views in *req right after parsing, exactly as a caller reads its own receive buffer.
ParseStatus Parse(std::string_view s, Request* req, const ParseLimits& limits = {}) {
  static std::unique_ptr<ExactBuffer> last;
  last = std::make_unique<ExactBuffer>(s);
  return ParseRequestHead(last->view(), limits, req);
}

constexpr std::string_view kSimpleGet =
    "GET /ws?room=lobby&name=bob HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "X-Empty:\r\n"
    "X-Padded: \t value with  spaces \t \r\n"
    "\r\n";

TEST(HttpParserTest, ParsesValidGetWithQuery) {
  const std::string text(kSimpleGet);
  Request req;
  ASSERT_EQ(ParseRequestHead(text, {}, &req), ParseStatus::kComplete);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/ws?room=lobby&name=bob");
  EXPECT_EQ(req.path, "/ws");
  EXPECT_EQ(req.query, "room=lobby&name=bob");
  EXPECT_EQ(req.version_minor, 1);
  EXPECT_EQ(req.header_count, 5u);
  EXPECT_EQ(req.head_bytes, text.size());
  EXPECT_EQ(req.content_length, 0u);
  EXPECT_TRUE(req.keep_alive);
  EXPECT_EQ(req.headers[0].name, "Host");
  EXPECT_EQ(req.headers[0].value, "example.com");
  EXPECT_EQ(req.Find("X-Empty"), "");
  EXPECT_EQ(req.Find("X-Padded"), "value with  spaces");
  // Zero-copy: the views point into the caller's buffer.
  EXPECT_EQ(req.method.data(), text.data());
  EXPECT_EQ(req.headers[0].value.data(), text.data() + text.find("example.com"));
}

TEST(HttpParserTest, PathWithoutQueryHasEmptyQuery) {
  Request req;
  ASSERT_EQ(Parse("GET /health HTTP/1.1\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.path, "/health");
  EXPECT_EQ(req.query, "");
  EXPECT_EQ(req.header_count, 0u);
  ASSERT_EQ(Parse("GET /a? HTTP/1.1\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.path, "/a");
  EXPECT_EQ(req.query, "");
}

TEST(HttpParserTest, HeadBytesStopsBeforeBodyAndPipelinedRequests) {
  const std::string text =
      "POST /send HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
  Request req;
  ASSERT_EQ(Parse(text, &req), ParseStatus::kComplete);
  EXPECT_EQ(req.head_bytes, text.find("hello"));
  EXPECT_EQ(req.content_length, 5u);
}

TEST(HttpParserTest, FindIsCaseInsensitive) {
  Request req;
  ASSERT_EQ(Parse(kSimpleGet, &req), ParseStatus::kComplete);
  bool found = false;
  EXPECT_EQ(req.Find("host", &found), "example.com");
  EXPECT_TRUE(found);
  EXPECT_EQ(req.Find("HOST"), "example.com");
  EXPECT_EQ(req.Find("uPgRaDe"), "websocket");
  EXPECT_EQ(req.Find("x-empty", &found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(req.Find("Missing", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(req.Find("Hos", &found), "");
  EXPECT_FALSE(found);
}

TEST(HttpParserTest, FindReturnsFirstMatch) {
  Request req;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nX-A: one\r\nx-a: two\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.Find("X-A"), "one");
}

TEST(HttpParserTest, HeaderHasToken) {
  Request req;
  ASSERT_EQ(Parse(kSimpleGet, &req), ParseStatus::kComplete);
  EXPECT_TRUE(req.HeaderHasToken("connection", "upgrade"));
  EXPECT_TRUE(req.HeaderHasToken("Connection", "Keep-Alive"));
  EXPECT_FALSE(req.HeaderHasToken("Connection", "close"));
  EXPECT_FALSE(req.HeaderHasToken("Connection", "Upgr"));
  EXPECT_FALSE(req.HeaderHasToken("Connection", ""));
  EXPECT_FALSE(req.HeaderHasToken("Missing", "upgrade"));
}

struct KeepAliveCase {
  std::string_view head;
  bool keep_alive;
};

TEST(HttpParserTest, KeepAliveRules) {
  const KeepAliveCase cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Upgrade, close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: upgrade\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    Request req;
    ASSERT_EQ(Parse(c.head, &req), ParseStatus::kComplete) << c.head;
    EXPECT_EQ(req.keep_alive, c.keep_alive) << c.head;
  }
}

TEST(HttpParserTest, SplitAtEveryOffsetIsIncompleteUntilComplete) {
  const std::string text = std::string(kSimpleGet) + "trailing body bytes";
  const size_t head_size = kSimpleGet.size();
  for (size_t n = 0; n <= text.size(); ++n) {
    Request req;
    const ParseStatus status = Parse(std::string_view(text).substr(0, n), &req);
    if (n < head_size) {
      EXPECT_EQ(status, ParseStatus::kIncomplete) << "prefix length " << n;
    } else {
      ASSERT_EQ(status, ParseStatus::kComplete) << "prefix length " << n;
      EXPECT_EQ(req.head_bytes, head_size);
      EXPECT_EQ(req.Find("Host"), "example.com");
    }
  }
}

TEST(HttpParserTest, OversizedHead) {
  const std::string head = "GET / HTTP/1.1\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n";
  ParseLimits limits;
  Request req;

  limits.max_head_bytes = head.size();
  EXPECT_EQ(Parse(head, &req, limits), ParseStatus::kComplete);
  limits.max_head_bytes = head.size() - 1;
  EXPECT_EQ(Parse(head, &req, limits), ParseStatus::kHeadTooLarge);

  // No CRLFCRLF yet: under the limit we wait, at or over it the head can no longer fit.
  limits.max_head_bytes = 100;
  EXPECT_EQ(Parse(head.substr(0, 99), &req, limits), ParseStatus::kIncomplete);
  EXPECT_EQ(Parse(head.substr(0, 100), &req, limits), ParseStatus::kHeadTooLarge);
  EXPECT_EQ(Parse(head.substr(0, 150), &req, limits), ParseStatus::kHeadTooLarge);

  // The default limit against a flood of header bytes without an end.
  const std::string flood = "GET / HTTP/1.1\r\nX: " + std::string(10000, 'b');
  EXPECT_EQ(Parse(flood, &req), ParseStatus::kHeadTooLarge);
}

TEST(HttpParserTest, TooManyHeaders) {
  auto make = [](int n) {
    std::string s = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
    return s + "\r\n";
  };
  ParseLimits limits;
  limits.max_headers = 3;
  Request req;
  EXPECT_EQ(Parse(make(3), &req, limits), ParseStatus::kComplete);
  EXPECT_EQ(req.header_count, 3u);
  EXPECT_EQ(Parse(make(4), &req, limits), ParseStatus::kHeadTooLarge);

  EXPECT_EQ(Parse(make(64), &req), ParseStatus::kComplete);
  EXPECT_EQ(Parse(make(65), &req), ParseStatus::kHeadTooLarge);

  // A configured limit above the hard cap is clamped to the array size.
  limits.max_headers = 1000;
  limits.max_head_bytes = 1 << 20;
  EXPECT_EQ(Parse(make(kMaxHeadersHardCap), &req, limits), ParseStatus::kComplete);
  EXPECT_EQ(Parse(make(kMaxHeadersHardCap + 1), &req, limits), ParseStatus::kHeadTooLarge);
}

TEST(HttpParserTest, MalformedRequestLine) {
  const std::string_view cases[] = {
      "\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\n\r\n",
      "GET\r\n\r\n",
      "GET /\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET /  HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 \r\n\r\n",
      " GET / HTTP/1.1\r\n\r\n",
      "GET\t/ HTTP/1.1\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      "GE\x01 / HTTP/1.1\r\n\r\n",
      "GET ws HTTP/1.1\r\n\r\n",
      "GET * HTTP/1.1\r\n\r\n",
      "GET http://example.com/ HTTP/1.1\r\n\r\n",
      "GET /a\x7f HTTP/1.1\r\n\r\n",
      "GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
      "GET /a\rb HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\r\n\r\n",
  };
  for (std::string_view c : cases) {
    Request req;
    EXPECT_EQ(Parse(c, &req), ParseStatus::kBadRequest) << testing::PrintToString(c);
  }
}

TEST(HttpParserTest, BadVersion) {
  const std::string_view versions[] = {
      "HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1", "HTTP/1.10", "HTTP/11", "HTTP", "",
  };
  for (std::string_view v : versions) {
    const std::string head = "GET / " + std::string(v) + "\r\n\r\n";
    Request req;
    EXPECT_EQ(Parse(head, &req), ParseStatus::kBadRequest) << head;
  }
  Request req;
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.version_minor, 0);
}

TEST(HttpParserTest, BareLineFeed) {
  Request req;
  // Rejected inside the head, even before the head is complete.
  EXPECT_EQ(Parse("GET / HTTP/1.1\n\n", &req), ParseStatus::kBadRequest);
  EXPECT_EQ(Parse("GET / HTTP/1.1\nHost: a\r\n\r\n", &req), ParseStatus::kBadRequest);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\n\r\n", &req), ParseStatus::kBadRequest);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\nX", &req), ParseStatus::kBadRequest);
  EXPECT_EQ(Parse("\n", &req), ParseStatus::kBadRequest);
  // Accepted only as the terminator of the final blank line.
  const std::string ok = "GET / HTTP/1.1\r\nHost: a\r\n\n";
  ASSERT_EQ(Parse(ok, &req), ParseStatus::kComplete);
  EXPECT_EQ(req.head_bytes, ok.size());
  EXPECT_EQ(req.Find("Host"), "a");
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\n\nbody", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.head_bytes, 17u);
}

TEST(HttpParserTest, MalformedHeaderLines) {
  const std::string_view cases[] = {
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",       "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",        "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
      "GET / HTTP/1.1\r\nBad(Name): a\r\n\r\n",   "GET / HTTP/1.1\r\nX-A: a\x01\r\n\r\n",
      "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",      "GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n",
      "GET / HTTP/1.1\r\nX-A: a\x1b[31m\r\n\r\n",
  };
  for (std::string_view c : cases) {
    Request req;
    EXPECT_EQ(Parse(c, &req), ParseStatus::kBadRequest) << testing::PrintToString(c);
  }
  // A NUL needs an sv literal: a plain literal would end the view at the NUL.
  const std::string_view with_nul = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"sv;
  Request req;
  EXPECT_EQ(Parse(with_nul, &req), ParseStatus::kBadRequest);
  // Tab and obs-text are legal inside a value.
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nX-A: a\tb \xc3\xa9\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.Find("x-a"), "a\tb \xc3\xa9");
}

TEST(HttpParserTest, ObsFoldIsRejected) {
  Request req;
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", &req), ParseStatus::kBadRequest);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", &req), ParseStatus::kBadRequest);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\n Host: a\r\n\r\n", &req), ParseStatus::kBadRequest);
}

TEST(HttpParserTest, ContentLength) {
  Request req;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 42\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.content_length, 42u);
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\ncontent-length:0\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.content_length, 0u);
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n", &req),
            ParseStatus::kComplete);
  EXPECT_EQ(req.content_length, 999999999999999999u);
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", &req),
            ParseStatus::kComplete);
  EXPECT_EQ(req.content_length, 7u);

  const std::string_view bad[] = {
      "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1000000000000000000\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: \r\n\r\n",
  };
  for (std::string_view c : bad) {
    EXPECT_EQ(Parse(c, &req), ParseStatus::kBadRequest) << testing::PrintToString(c);
  }
}

TEST(HttpParserTest, TransferEncodingIsNotImplemented) {
  Request req;
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &req),
            ParseStatus::kNotImplemented);
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n", &req),
            ParseStatus::kNotImplemented);
  EXPECT_EQ(
      Parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", &req),
      ParseStatus::kNotImplemented);
  // A malformed head is still a 400, whatever else it carries.
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nBad Name: x\r\n\r\n", &req),
            ParseStatus::kBadRequest);
}

TEST(HttpParserTest, ReusedRequestIsReset) {
  Request req;
  ASSERT_EQ(Parse("POST / HTTP/1.0\r\nContent-Length: 9\r\nA: b\r\n\r\n", &req),
            ParseStatus::kComplete);
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\n\r\n", &req), ParseStatus::kComplete);
  EXPECT_EQ(req.content_length, 0u);
  EXPECT_EQ(req.header_count, 0u);
  EXPECT_EQ(req.version_minor, 1);
  EXPECT_TRUE(req.keep_alive);
}

// Random mutations of a valid head must never crash or read out of bounds (ASan watches the
// exact-size buffers), and a kComplete answer must stay inside the buffer.
TEST(HttpParserTest, RandomMutationsStayInBounds) {
  std::mt19937 rng(12345);
  const std::string base(kSimpleGet);
  const char alphabet[] = {'\r', '\n', ' ', '\t', ':', '\0', 'a', '/', '?', '\x80', ','};
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % s.size();
      s[pos] = alphabet[rng() % sizeof(alphabet)];
    }
    s.resize(rng() % (s.size() + 1));
    ParseLimits limits;
    limits.max_head_bytes = 1 + rng() % 200;
    limits.max_headers = rng() % 8;
    Request req;
    if (Parse(s, &req, limits) == ParseStatus::kComplete) {
      EXPECT_LE(req.head_bytes, s.size());
      EXPECT_LE(req.head_bytes, limits.max_head_bytes);
    }
  }
}

}  // namespace
}  // namespace roomcast::http
