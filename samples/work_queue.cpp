// troupe::queue, a distributed FIFO: producer tasks put jobs on a bounded
// queue, worker actors take them and put their answers on a second queue,
// and the driver collects the answers. A full queue holds its producers
// back; an empty one holds its takers, without holding the queue's actor.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <troupe/queue.hpp>
#include <troupe/troupe.hpp>

using namespace std::chrono_literals;

/// Puts the jobs `first`..`first + n - 1` on `jobs`.
int produce(troupe::queue<int> jobs, int first, int n) {
  for (int i = first; i < first + n; ++i)
    jobs.put(i); // waits while the queue is full
  return n;
}
TROUPE_REMOTE(produce);

/// Takes jobs until the queue stays empty for a second; answers each.
class worker {
public:
  worker(troupe::queue<int> jobs, troupe::queue<std::string> answers)
      : jobs_(std::move(jobs)), answers_(std::move(answers)) {}

  int run() {
    int done = 0;
    for (;;) {
      int job;
      try {
        job = jobs_.get(1s);
      } catch (const troupe::queue_empty&) {
        return done;
      }
      answers_.put(std::to_string(job) + " squared is " + std::to_string(job * job));
      ++done;
    }
  }

private:
  troupe::queue<int> jobs_;
  troupe::queue<std::string> answers_;
};
std::unique_ptr<worker> make_worker(troupe::queue<int> jobs,
                                    troupe::queue<std::string> answers) {
  return std::make_unique<worker>(std::move(jobs), std::move(answers));
}
TROUPE_REMOTE(make_worker);
TROUPE_REMOTE(&worker::run);

int main() {
  troupe::init(); // workers branch off here: keep it first
  troupe::queue<int> jobs(10);      // at most 10 waiting jobs
  troupe::queue<std::string> answers(0); // no bound

  std::vector<troupe::object_ref<int>> producers;
  for (int p = 0; p < 3; ++p)
    producers.push_back(troupe::task(produce).remote(jobs, p * 20, 20));
  std::vector<troupe::actor_handle<worker>> workers; // an actor lives while a handle does
  std::vector<troupe::object_ref<int>> runs;
  for (int w = 0; w < 2; ++w) {
    workers.push_back(troupe::actor(make_worker).remote(jobs, answers));
    runs.push_back(workers.back().task(&worker::run).remote());
  }

  std::vector<std::string> got;
  for (int i = 0; i < 60; ++i)
    got.push_back(answers.get(30s));
  auto produced = troupe::get(producers);
  auto done = troupe::get(runs);
  std::cout << "produced " << produced[0] + produced[1] + produced[2] << " jobs; the workers did "
            << done[0] << " and " << done[1] << "\n";
  std::sort(got.begin(), got.end());
  std::cout << "first answer: " << got.front() << "\n";
  std::cout << "left in the queues: " << jobs.size() << " and " << answers.size() << "\n";
  troupe::shutdown();
  return got.size() == 60 && done[0] + done[1] == 60 ? 0 : 1;
}
