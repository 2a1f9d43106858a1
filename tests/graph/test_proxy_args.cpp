// The predefined proxy build args (graph/proxy_args.cpp), BuildKit's rule.
#include <doctest/doctest.h>

#include "graph/proxy_args.hpp"

using namespace mkimage::graph;

TEST_CASE("proxy args are the five names in any case") {
  CHECK(is_proxy_arg("HTTP_PROXY"));
  CHECK(is_proxy_arg("https_proxy"));
  CHECK(is_proxy_arg("NO_PROXY"));
  CHECK(is_proxy_arg("all_proxy"));
  CHECK(is_proxy_arg("FTP_PROXY"));
  CHECK(is_proxy_arg("Http_Proxy"));
  CHECK_FALSE(is_proxy_arg("PROXY"));
  CHECK_FALSE(is_proxy_arg("http_proxy_x"));
}

TEST_CASE("proxy build args give both spellings; the last name in byte order wins") {
  CHECK(proxy_env({{"http_proxy", "hp"}, {"NO_PROXY", "np"}, {"FOO", "x"}}) ==
        std::vector<std::string>{"HTTP_PROXY=hp", "http_proxy=hp", "NO_PROXY=np", "no_proxy=np"});
  CHECK(proxy_env({{"HTTP_PROXY", "upper"}, {"http_proxy", "lower"}}) ==
        std::vector<std::string>{"HTTP_PROXY=lower", "http_proxy=lower"});
  CHECK(proxy_env({{"ALL_PROXY", ""}}).empty());
}
