#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/http_parser.h"

namespace roomcast::http {
namespace {

using namespace std::string_view_literals;

// The body of a response: everything after the first blank line.
std::string_view BodyOf(std::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string_view{} : response.substr(end + 4);
}

TEST(ReasonPhraseTest, KnownAndUnknown) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(101), "Switching Protocols");
  EXPECT_EQ(ReasonPhrase(400), "Bad Request");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(501), "Not Implemented");
  EXPECT_EQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(ReasonPhrase(799), "Unknown");
}

TEST(BuildResponseTest, ByteExactKeepAlive) {
  EXPECT_EQ(BuildResponse(200, "text/plain", "hello", true),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 5\r\n"
            "Connection: keep-alive\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n"
            "hello");
}

TEST(BuildResponseTest, ByteExactCloseWithExtraHeaders) {
  EXPECT_EQ(BuildResponse(404, "text/plain", "", false, "X-A: 1\r\nX-B: 2\r\n"),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 0\r\n"
            "Connection: close\r\n"
            "Cache-Control: no-store\r\n"
            "X-A: 1\r\n"
            "X-B: 2\r\n"
            "\r\n");
}

TEST(BuildResponseTest, BinaryBodyLengthCountsEveryByte) {
  const std::string_view body = "a\0b\r\n\r\nc"sv;
  const std::string r = BuildResponse(200, "application/octet-stream", body, true);
  EXPECT_NE(r.find("Content-Length: 8\r\n"), std::string::npos);
  EXPECT_EQ(BodyOf(r), body);
}

TEST(BuildResponseTest, NoBodyStatusesOmitLengthAndBody) {
  EXPECT_EQ(BuildResponse(204, "", "ignored", true),
            "HTTP/1.1 204 No Content\r\n"
            "Connection: keep-alive\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n");
  const std::string not_modified = BuildResponse(304, "text/plain", "x", true);
  EXPECT_EQ(not_modified.find("Content-Length"), std::string::npos);
  EXPECT_EQ(BodyOf(not_modified), "");
}

TEST(BuildJsonErrorTest, ByteExact) {
  EXPECT_EQ(BuildJsonError(400, "bad_request", "missing room", false),
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 48\r\n"
            "Connection: close\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n"
            R"({"error":"bad_request","message":"missing room"})");
}

TEST(BuildJsonErrorTest, EscapesQuotesBackslashesAndControlChars) {
  const std::string r =
      BuildJsonError(400, "c\"d", "say \"hi\" \\ path\nnext\r\t\b\f\x01\x1f\0end \xc3\xa9"sv, true);
  EXPECT_EQ(BodyOf(r),
            R"({"error":"c\"d","message":"say \"hi\" \\ path\nnext\r\t\b\f\u0001\u001f\u0000end )"
            "\xc3\xa9\"}");
}

TEST(BuildJsonErrorTest, ContentLengthMatchesBody) {
  const std::string r = BuildJsonError(431, "too_large", std::string(300, '"'), true);
  const std::string_view body = BodyOf(r);
  EXPECT_NE(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  EXPECT_EQ(r.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
}

}  // namespace
}  // namespace roomcast::http
