// The embedded web files: lookup (with and without the demo) and the HTTP answers.
#include "web/static_files.h"

#include <gtest/gtest.h>

#include <string>

namespace roomcast::web {
namespace {

TEST(StaticFiles, EmbedsTheClientTheTypesAndThePage) {
  const StaticFile* js = FindStatic("/roomcast.js", true);
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js->body.find("export class Roomcast"), std::string_view::npos);
  EXPECT_EQ(js->etag.size(), 22u);  // a quoted 20-hex-digit hash
  ASSERT_NE(FindStatic("/roomcast.d.ts", true), nullptr);
  const StaticFile* page = FindStatic("/", true);
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(FindStatic("/index.html", true), page);
  EXPECT_EQ(FindStatic("/nothing", true), nullptr);
  EXPECT_EQ(FindStatic("/roomcast.js/", true), nullptr);
}

TEST(StaticFiles, NoDemoHidesOnlyThePage) {
  EXPECT_EQ(FindStatic("/", false), nullptr);
  EXPECT_EQ(FindStatic("/index.html", false), nullptr);
  EXPECT_NE(FindStatic("/roomcast.js", false), nullptr);
  EXPECT_NE(FindStatic("/roomcast.d.ts", false), nullptr);
}

TEST(StaticFiles, GetHeadAndConditionalAnswers) {
  const StaticFile& f = *FindStatic("/roomcast.js", true);
  const std::string get = StaticResponse(f, false, "", true, "X-Extra: 1\r\n");
  EXPECT_EQ(get.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(get.find("Content-Length: " + std::to_string(f.body.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(get.find("ETag: " + std::string(f.etag) + "\r\n"), std::string::npos);
  EXPECT_NE(get.find("Cache-Control: no-cache\r\n"), std::string::npos);
  EXPECT_NE(get.find("Connection: keep-alive\r\nX-Extra: 1\r\n\r\n"), std::string::npos);
  EXPECT_EQ(get.substr(get.size() - f.body.size()), f.body);

  const std::string head = StaticResponse(f, true, "", false, "");
  EXPECT_NE(head.find("Content-Length: " + std::to_string(f.body.size())), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");  // no body
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);

  const std::string list = "\"nope\", W/" + std::string(f.etag);
  const std::string not_modified = StaticResponse(f, false, list, true, "");
  EXPECT_EQ(not_modified.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u);
  EXPECT_EQ(not_modified.find("Content-Length"), std::string::npos);
  EXPECT_EQ(not_modified.substr(not_modified.size() - 4), "\r\n\r\n");
  EXPECT_EQ(StaticResponse(f, false, "*", true, "").rfind("HTTP/1.1 304", 0), 0u);
  EXPECT_EQ(StaticResponse(f, false, "\"other\"", true, "").rfind("HTTP/1.1 200", 0), 0u);
}

}  // namespace
}  // namespace roomcast::web
