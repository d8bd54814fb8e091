// A program of a troupe user, built outside troupe's tree against an
// installed troupe (tests/install_test.sh builds it with CMake and with
// meson): a task and an actor on an embedded local cluster.
#include <iostream>
#include <memory>
#include <string>

#include <troupe/troupe.hpp>

int square(int x) {
  return x * x;
}
TROUPE_REMOTE(square);

class greeter {
public:
  explicit greeter(std::string name)
      : name_(std::move(name)) {}
  std::string greet(const std::string& who) { return name_ + " greets " + who; }

private:
  std::string name_;
};

std::unique_ptr<greeter> make_greeter(std::string name) {
  return std::make_unique<greeter>(std::move(name));
}
TROUPE_REMOTE(make_greeter);
TROUPE_REMOTE(&greeter::greet);

int main() {
  troupe::init({.num_cpus = 1});
  auto squared = troupe::get(troupe::task(square).remote(12));
  auto g = troupe::actor(make_greeter).remote(std::string{"an actor"});
  auto greeting = troupe::get(g.task(&greeter::greet).remote(std::string{"you"}));
  std::cout << "square(12) = " << squared << "; " << greeting << std::endl;
  troupe::shutdown();
}
