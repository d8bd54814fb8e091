#include "lib/core/peer_links.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::detail;

namespace {

/// Records the connections asked for; the test answers them.
struct recording_io : peer_links::io {
  std::vector<endpoint> asked;
  void connect(const endpoint& where) override { asked.push_back(where); }
};

caf::node_id node(std::uint32_t pid) {
  return *caf::make_node_id(pid, std::string(40, 'a')); // a 40-digit hex host hash
}

struct fixture {
  recording_io io;
  std::vector<int> sent;
  peer_links links{io, node(1), 2};

  peer_links::action note(int n) {
    return [this, n] { sent.push_back(n); };
  }
};

} // namespace

TEST_CASE("a message to a peer whose endpoint is unknown goes at once, without connecting") {
  fixture f;
  f.links.send(node(2), f.note(1));
  CHECK(f.sent == std::vector<int>{1});
  CHECK(f.io.asked.empty());
}

TEST_CASE("messages wait for the connection to their peer, then go in the order sent") {
  fixture f;
  f.links.learn(node(2), {"127.0.0.1", 4000});
  f.links.send(node(2), f.note(1));
  f.links.send(node(2), f.note(2));
  REQUIRE(f.io.asked.size() == 1); // one connection for both
  CHECK(f.io.asked[0].port == 4000);
  CHECK(f.sent.empty());
  CHECK_FALSE(f.links.sends_now(node(2)));
  f.links.on_connected({"127.0.0.1", 4000}, node(2));
  CHECK(f.sent == std::vector<int>{1, 2});
  CHECK(f.links.is_direct(node(2)));
  CHECK(f.links.sends_now(node(2)));
  f.links.send(node(2), f.note(3));
  CHECK(f.sent == std::vector<int>{1, 2, 3});
  CHECK(f.io.asked.size() == 1);
  CHECK(f.links.direct_count() == 1);
}

TEST_CASE("a connection that fails sends what waited through the relay and is not retried") {
  fixture f;
  f.links.learn(node(2), {"10.0.0.9", 4000});
  f.links.send(node(2), f.note(1));
  f.links.on_failed({"10.0.0.9", 4000}, "unreachable");
  CHECK(f.sent == std::vector<int>{1});
  CHECK_FALSE(f.links.is_direct(node(2)));
  f.links.send(node(2), f.note(2));
  CHECK(f.sent == std::vector<int>{1, 2});
  CHECK(f.io.asked.size() == 1);
}

TEST_CASE("an endpoint answered by another process does not count as the peer's connection") {
  fixture f;
  f.links.learn(node(2), {"127.0.0.1", 4000});
  f.links.send(node(2), f.note(1));
  f.links.on_connected({"127.0.0.1", 4000}, node(7)); // the port was taken over
  CHECK(f.sent == std::vector<int>{1});
  CHECK_FALSE(f.links.is_direct(node(2)));
  CHECK(f.links.direct_count() == 0);
}

TEST_CASE("past the cap, peers are reached through the relay") {
  fixture f; // at most 2
  for (std::uint32_t p = 2; p <= 4; ++p)
    f.links.learn(node(p), {"127.0.0.1", static_cast<std::uint16_t>(4000 + p)});
  f.links.send(node(2), f.note(2));
  f.links.send(node(3), f.note(3));
  f.links.send(node(4), f.note(4)); // the third goes at once
  CHECK(f.io.asked.size() == 2);
  CHECK(f.sent == std::vector<int>{4});
  f.links.on_connected({"127.0.0.1", 4002}, node(2));
  f.links.on_connected({"127.0.0.1", 4003}, node(3));
  CHECK(f.sent == std::vector<int>{4, 2, 3});
  CHECK(f.links.direct_count() == 2);
}

TEST_CASE("a lost peer is forgotten, and connected again once learnt again") {
  fixture f;
  f.links.learn(node(2), {"127.0.0.1", 4000});
  f.links.send(node(2), f.note(1));
  f.links.on_connected({"127.0.0.1", 4000}, node(2));
  f.links.lost(node(2));
  CHECK(f.links.direct_count() == 0);
  f.links.send(node(2), f.note(9)); // forgotten: no endpoint, goes as is
  CHECK(f.sent == std::vector<int>{1, 9});
  f.links.learn(node(2), {"127.0.0.1", 4000});
  f.links.send(node(2), f.note(2));
  CHECK(f.io.asked.size() == 2);
  CHECK(f.sent == std::vector<int>{1, 9});
  f.links.on_connected({"127.0.0.1", 4000}, node(2));
  CHECK(f.sent == std::vector<int>{1, 9, 2});
}

TEST_CASE("this process and peers without a port are never connected to") {
  fixture f;
  f.links.learn(node(1), {"127.0.0.1", 4000}); // itself
  f.links.learn(node(3), {"127.0.0.1", 0});    // listens nowhere
  f.links.send(node(1), f.note(1));
  f.links.send(node(3), f.note(3));
  CHECK(f.io.asked.empty());
  CHECK(f.sent == std::vector<int>{1, 3});
}

TEST_CASE("with a cap of zero nothing is connected") {
  recording_io io;
  peer_links links{io, node(1), 0};
  links.learn(node(2), {"127.0.0.1", 4000});
  int sent = 0;
  links.send(node(2), [&] { ++sent; });
  CHECK(sent == 1);
  CHECK(io.asked.empty());
}
