// The cluster token as a user types it (`--token`, TROUPE_TOKEN, the token
// file): lib/net/credentials' cluster_token::parse. A malformed token is a
// std::invalid_argument; one that parses prints back as it was typed.

#include <stdexcept>
#include <string>

#include "lib/net/credentials.hpp"
#include "tests/fuzz/fuzz_target.hpp"

using troupe::fuzz::fuzz_fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  try {
    auto token = troupe::net::cluster_token::parse(text);
    if (token.text() != text)
      fuzz_fail("a parsed token does not print as it was typed");
    if (token.secret().size() * 2 + 5 != text.size())
      fuzz_fail("a parsed token's secret has the wrong length");
    if (troupe::net::cluster_token::parse(token.text()).secret() != token.secret())
      fuzz_fail("a token parsed twice gives two secrets");
  } catch (const std::invalid_argument&) {
    // A malformed token: refused with its reason.
  }
  return 0;
}
