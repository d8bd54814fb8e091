// A message store actor shared by several tasks: three worker tasks post
// messages through the actor handle they are passed, while the driver reads
// the store now and then and prints how many messages it sees, until all
// are in.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

class message_actor {
public:
  void add_message(std::string message) { messages_.push_back(std::move(message)); }
  /// Returns every message so far.
  std::vector<std::string> get_messages() const { return messages_; }
  int count() const { return static_cast<int>(messages_.size()); }

private:
  std::vector<std::string> messages_;
};

std::unique_ptr<message_actor> make_message_actor() {
  return std::make_unique<message_actor>();
}
TROUPE_REMOTE(make_message_actor);
TROUPE_REMOTE(&message_actor::add_message);
TROUPE_REMOTE(&message_actor::get_messages);
TROUPE_REMOTE(&message_actor::count);

constexpr int num_workers = 3;
constexpr int messages_per_worker = 10;

/// A worker task: posts its messages to the store, one every 50 ms.
int worker(troupe::actor_handle<message_actor> store, int worker_index) {
  for (int i = 0; i < messages_per_worker; ++i) {
    troupe::get(store.task(&message_actor::add_message)
                  .remote("message " + std::to_string(i) + " from worker "
                          + std::to_string(worker_index)));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return messages_per_worker;
}
TROUPE_REMOTE(worker);

int main() {
  troupe::init(); // workers branch off here: keep it first
  auto store = troupe::actor(make_message_actor).remote();

  std::vector<troupe::object_ref<int>> workers;
  for (int w = 0; w < num_workers; ++w)
    workers.push_back(troupe::task(worker).remote(store, w));

  const std::size_t expected = num_workers * messages_per_worker;
  std::vector<std::string> messages;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (messages.size() < expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    messages = troupe::get(store.task(&message_actor::get_messages).remote());
    std::cout << "the driver sees " << messages.size() << " messages";
    if (!messages.empty())
      std::cout << ", the last: \"" << messages.back() << "\"";
    std::cout << "\n";
  }

  int posted = 0;
  for (auto n : troupe::get(workers))
    posted += n;
  std::cout << "the workers posted " << posted << " messages; the store holds "
            << messages.size() << "\n";
  troupe::kill(store);
  troupe::shutdown();
  return messages.size() == expected && posted == static_cast<int>(expected) ? 0 : 1;
}
