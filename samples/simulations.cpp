// Simulations, as RLlib runs them: simulator actors play episodes in
// parallel, each with its own environment, and a learner task aggregates
// their results into a better policy every round.
//
// The environment is a cart on a line that must stay at 0: the policy pushes
// it with force tanh(w . [position, velocity, 1]), and each step costs the
// square of the distance. The learner uses evolution strategies: every
// episode runs the policy with its weights nudged by noise made from a seed,
// and the nudges of the better episodes move the weights.
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include <troupe/troupe.hpp>

using weights = std::vector<double>;

constexpr double noise_scale = 0.1;

/// The nudge of an episode, made again from its seed wherever it is needed.
weights nudge(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n;
  return {n(rng), n(rng), n(rng)};
}

/// One environment: plays episodes of the cart with a given policy.
class simulator {
public:
  explicit simulator(std::uint64_t seed) : rng_(seed) {}

  /// Plays `episodes` episodes with `w` nudged; returns (seed, score) of each.
  std::vector<std::tuple<std::uint64_t, double>> play(weights w, int episodes) {
    std::vector<std::tuple<std::uint64_t, double>> out;
    for (int e = 0; e < episodes; ++e) {
      auto seed = rng_();
      auto d = nudge(seed);
      weights tried{w[0] + noise_scale * d[0], w[1] + noise_scale * d[1],
                    w[2] + noise_scale * d[2]};
      out.emplace_back(seed, episode(tried));
    }
    return out;
  }

private:
  double episode(const weights& w) {
    std::uniform_real_distribution<double> start(-1, 1);
    double x = start(rng_), v = 0, score = 0;
    for (int t = 0; t < 200; ++t) {
      double force = std::tanh(w[0] * x + w[1] * v + w[2]);
      v = 0.95 * v + 0.05 * force;
      x += 0.1 * v;
      score -= x * x;
    }
    return score;
  }

  std::mt19937_64 rng_;
};
std::unique_ptr<simulator> make_simulator(std::uint64_t seed) {
  return std::make_unique<simulator>(seed);
}
TROUPE_REMOTE(make_simulator);
TROUPE_REMOTE(&simulator::play);

/// The learner: moves `w` towards the nudges of the episodes that scored
/// above the round's mean, each by how many standard deviations it was
/// above. Returns the new weights and the mean score.
std::tuple<weights, double> learn(weights w,
                                  std::vector<std::vector<std::tuple<std::uint64_t, double>>> all) {
  double sum = 0;
  std::size_t n = 0;
  for (auto& results : all)
    for (auto& [seed, score] : results) {
      sum += score;
      ++n;
    }
  double mean = sum / static_cast<double>(n);
  double var = 0;
  for (auto& results : all)
    for (auto& [seed, score] : results)
      var += (score - mean) * (score - mean);
  double sd = std::sqrt(var / static_cast<double>(n)) + 1e-12;
  weights step(w.size(), 0.0);
  for (auto& results : all)
    for (auto& [seed, score] : results) {
      auto d = nudge(seed);
      for (std::size_t i = 0; i < w.size(); ++i)
        step[i] += (score - mean) / sd * d[i];
    }
  constexpr double learning_rate = 0.05;
  for (std::size_t i = 0; i < w.size(); ++i)
    w[i] += learning_rate * step[i] / (static_cast<double>(n) * noise_scale);
  return {w, mean};
}
TROUPE_REMOTE(learn);

int main() {
  troupe::init(); // workers branch off here: keep it first
  std::vector<troupe::actor_handle<simulator>> sims;
  for (std::uint64_t s = 0; s < 4; ++s)
    sims.push_back(troupe::actor(make_simulator).remote(1000 + s));

  weights w{0, 0, 0};
  double first = 0, last = 0;
  for (int round = 0; round < 15; ++round) {
    std::vector<troupe::object_ref<std::vector<std::tuple<std::uint64_t, double>>>> played;
    for (auto& s : sims)
      played.push_back(s.task(&simulator::play).remote(w, 16)); // in parallel
    auto [next, mean] = troupe::task(learn).remote(w, troupe::get(played));
    w = troupe::get(next);
    last = troupe::get(mean);
    if (round == 0)
      first = last;
    std::cout << "round " << round << ": mean score " << last << "\n";
  }
  std::cout << "policy: " << w[0] << ' ' << w[1] << ' ' << w[2] << "\n";
  troupe::shutdown();
  return last > first ? 0 : 1; // it learned to keep the cart nearer to 0
}
