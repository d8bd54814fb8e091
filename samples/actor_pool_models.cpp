// troupe::actor_pool, Ray's ActorPool: a few stateful "model" actors, each
// loaded once, score a stream of inputs; the pool hands each input to an idle
// model and returns the scores in order, or as they finish.
#include <cmath>
#include <iostream>
#include <memory>
#include <numeric>
#include <vector>

#include <troupe/actor_pool.hpp>
#include <troupe/troupe.hpp>

/// A model whose weights are made once, in its actor's process.
class model {
public:
  explicit model(int size) : weights_(size) {
    for (int i = 0; i < size; ++i)
      weights_[i] = std::sin(i * 0.1);
  }
  double score(std::vector<double> input) const {
    return std::inner_product(input.begin(), input.end(), weights_.begin(), 0.0);
  }

private:
  std::vector<double> weights_;
};
std::unique_ptr<model> make_model(int size) {
  return std::make_unique<model>(size);
}
TROUPE_REMOTE(make_model);
TROUPE_REMOTE(&model::score);

int main() {
  troupe::init(); // workers branch off here: keep it first
  constexpr int size = 1000;
  std::vector<troupe::actor_handle<model>> models;
  for (int i = 0; i < 3; ++i)
    models.push_back(troupe::actor(make_model, {.max_restarts = 1}).remote(size));
  troupe::actor_pool<model, double> pool(models);

  auto score = [](const troupe::actor_handle<model>& m, std::vector<double> input) {
    return m.task(&model::score).remote(std::move(input));
  };
  std::vector<std::vector<double>> inputs;
  for (int k = 0; k < 12; ++k)
    inputs.emplace_back(size, 1.0 / (k + 1));

  auto scores = pool.map(score, inputs); // in input order
  for (std::size_t k = 0; k < scores.size(); ++k)
    std::cout << "input " << k << ": " << scores[k] << "\n";

  // One at a time, as a stream: submit while results come back.
  pool.submit(score, inputs[0]);
  pool.submit(score, inputs[1]);
  double sum = 0;
  while (pool.has_next())
    sum += pool.get_next_unordered();
  std::cout << "the first two again, summed: " << sum << "\n";
  troupe::shutdown();
  return std::abs(sum - (scores[0] + scores[1])) < 1e-9 ? 0 : 1;
}
