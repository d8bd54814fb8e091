#include "lib/common/ask.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

namespace troupe::detail {

namespace {

using namespace std::chrono_literals;

using echo_actor = caf::typed_actor<caf::replies_to<int>::with<std::string>>;

// With an argument: CAF 0.17 spawns a function actor without arguments
// through a null tuple pointer, which UBSan reports.
echo_actor::behavior_type echo(std::string prefix) {
  return {[=](int x) { return prefix + std::to_string(x); }};
}

/// Answers nothing: keeps every request's promise undelivered.
using promises = std::vector<caf::typed_response_promise<std::string>>;
echo_actor::behavior_type silent(echo_actor::pointer self,
                                 std::shared_ptr<promises> kept) {
  return {[=](int) {
    kept->push_back(self->make_response_promise<std::string>());
    return kept->back();
  }};
}

/// Returns the message of the `troupe::error` that `f` throws.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::runtime);
    return e.what();
  }
  FAIL("no troupe::error was thrown");
  return {};
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a reply comes back as the interface's reply type") {
  auto a = sys.spawn(echo, "n=");
  std::string r = ask<std::string>(sys, a, 5s, "the echo did not answer", 42);
  CHECK(r == "n=42");
  auto e = try_ask<std::string>(sys, a, 5s, 7);
  REQUIRE(e);
  CHECK(*e == "n=7");
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(fixture,
                  "asking a dead actor throws an error that names what was asked") {
  auto a = sys.spawn(echo, "n=");
  {
    caf::scoped_actor self{sys};
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  auto msg =
      error_of([&] { ask<std::string>(sys, a, 5s, "the echo did not answer", 1); });
  CHECK(starts_with(msg, "the echo did not answer: "));
  CHECK(msg.find("request_receiver_down") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture,
                  "asking no actor at all throws an error that names what was asked") {
  echo_actor none;
  auto msg =
      error_of([&] { ask<std::string>(sys, none, 5s, "the echo did not answer", 1); });
  CHECK(starts_with(msg, "the echo did not answer: "));
  CHECK(!try_ask<std::string>(sys, none, 5s, 1));
}

TEST_CASE_FIXTURE(fixture,
                  "an actor that does not answer in time gives a timeout error") {
  auto kept = std::make_shared<promises>();
  auto a = sys.spawn(silent, kept);
  auto r = try_ask<std::string>(sys, a, 50ms, 1);
  REQUIRE(!r);
  CHECK(r.error() == caf::sec::request_timeout);
  auto msg = error_of(
      [&] { ask<std::string>(sys, a, 50ms, "the silent one did not answer", 1); });
  CHECK(starts_with(msg, "the silent one did not answer: "));
  CHECK(msg.find("request_timeout") != std::string::npos);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

} // namespace troupe::detail
