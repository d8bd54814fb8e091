#include "actors/dashboard.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "actors/dashboard_files.hpp"

using namespace troupe;

TEST_CASE("a token matches only itself") {
  std::string token = "trp1.0123456789abcdef";
  CHECK(same_token(token, token));
  CHECK_FALSE(same_token("", token));
  CHECK_FALSE(same_token("trp1.0123456789abcdeF", token));
  CHECK_FALSE(same_token(token + "0", token));
  CHECK_FALSE(same_token(token.substr(0, 5), token));
}

TEST_CASE("the page's files are built in, each with its type") {
  auto& files = dashboard_files();
  auto find = [&](const std::string& path) {
    return std::find_if(files.begin(), files.end(),
                        [&](const dashboard_file& f) { return f.path == path; });
  };
  REQUIRE(find("/") != files.end());
  REQUIRE(find("/dashboard.js") != files.end());
  REQUIRE(find("/dashboard.css") != files.end());
  CHECK(find("/")->type.rfind("text/html", 0) == 0);
  CHECK(find("/dashboard.js")->type.rfind("text/javascript", 0) == 0);
  // The page loads its own script and style, nothing from elsewhere.
  auto page = find("/")->content;
  CHECK(page.find("src=\"/dashboard.js\"") != std::string_view::npos);
  CHECK(page.find("href=\"/dashboard.css\"") != std::string_view::npos);
  CHECK(page.find("http") == std::string_view::npos);
  CHECK(find("/dashboard.js")->content.find("/api/cluster") != std::string_view::npos);
}
