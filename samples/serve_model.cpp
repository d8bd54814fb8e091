// troupe::serve: a model served over HTTP, then a load test from this
// process against 1, 2 and 4 replicas (requests/s, p50 and p99 latency),
// and the overhead per request of the ingress and router alone (a replica
// that answers at once).
//
// `serve_model --load PORT PATH` runs the same load against any HTTP server
// (Ray Serve, for a comparison on the same machine).
//
// While it runs, try: curl -d '{"features": [1, 2, 3]}' http://127.0.0.1:PORT/score
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <troupe/serve.hpp>
#include <troupe/troupe.hpp>

using json = troupe::serve::json;

/// Layers of tanh(W x): about 1.5 ms per request.
class scorer {
public:
  explicit scorer(json args) : width_(args.value("width", 400)), w_(width_ * width_) {
    for (std::size_t i = 0; i < w_.size(); ++i)
      w_[i] = std::sin(0.001 * static_cast<double>(i));
  }
  json score(json request) {
    std::vector<double> x(width_, 0.0);
    auto& f = request["features"];
    for (std::size_t i = 0; i < f.size() && i < width_; ++i)
      x[i] = f[i].get<double>();
    double out = 0;
    for (int layer = 0; layer < 24; ++layer) // tanh(W x), 24 times
      for (std::size_t r = 0; r < width_; ++r) {
        double z = 0;
        for (std::size_t c = 0; c < width_; ++c)
          z += w_[r * width_ + c] * x[c];
        out += std::tanh(z);
      }
    return {{"score", out}};
  }

private:
  std::size_t width_;
  std::vector<double> w_;
};
std::unique_ptr<scorer> make_scorer(json args) {
  return std::make_unique<scorer>(std::move(args));
}
TROUPE_REMOTE(make_scorer);
TROUPE_REMOTE(&scorer::score);

/// Answers at once: what is left is the ingress and the router.
class null_model {
public:
  explicit null_model(json) {}
  json answer(json request) { return request; }
};
std::unique_ptr<null_model> make_null_model(json args) {
  return std::make_unique<null_model>(std::move(args));
}
TROUPE_REMOTE(make_null_model);
TROUPE_REMOTE(&null_model::answer);

struct load_result {
  double per_s, p50_ms, p99_ms;
  int failed;
};

/// `connections` keep-alive clients posting `body` to `path` for `seconds`.
load_result run_load(int port, const char* path, const std::string& body, int connections,
                     double seconds) {
  using clock = std::chrono::steady_clock;
  auto since = [](clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
  };
  std::vector<std::vector<double>> ms(connections);
  std::vector<int> failed(connections);
  auto t0 = clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      while (since(t0) < seconds) {
        auto t = clock::now();
        auto r = client.Post(path, body, "application/json");
        if (r && r->status == 200)
          ms[c].push_back(since(t) * 1000);
        else
          ++failed[c];
      }
    });
  for (auto& t : threads)
    t.join();
  std::vector<double> all;
  int failures = 0;
  for (int c = 0; c < connections; ++c) {
    all.insert(all.end(), ms[c].begin(), ms[c].end());
    failures += failed[c];
  }
  std::sort(all.begin(), all.end());
  auto at = [&](double q) { return all.empty() ? 0.0 : all[std::size_t(q * (all.size() - 1))]; };
  return {double(all.size()) / since(t0), at(0.5), at(0.99), failures};
}

int main(int argc, char** argv) {
  troupe::init(); // workers branch off here: keep it first
  if (argc == 4 && std::string{argv[1]} == "--load") {
    // The same load against any HTTP server (e.g. Ray Serve): --load PORT PATH
    auto r = run_load(std::stoi(argv[2]), argv[3], R"({"features": [0.5, -1.0]})", 8, 0.3);
    r = run_load(std::stoi(argv[2]), argv[3], R"({"features": [0.5, -1.0]})", 8, 2.0);
    std::printf("%.0f requests/s, p50 %.2f ms, p99 %.2f ms, %d failed\n", r.per_s, r.p50_ms,
                r.p99_ms, r.failed);
    troupe::shutdown();
    return 0;
  }
  auto s = troupe::serve::start({.port = 0});
  std::string body = R"({"features": [0.5, -1.0, 2.0, 0.25]})";
  int failures = 0;
  std::printf("replicas  requests/s  p50 ms  p99 ms   (8 connections, a ~1.5 ms model)\n");
  for (int replicas : {1, 2, 4}) {
    s.deploy({"scorer", make_scorer, &scorer::score,
              {.route = "/score", .num_replicas = replicas}}); // same version: scales
    run_load(s.port(), "/score", body, 8, 0.3); // warm
    auto r = run_load(s.port(), "/score", body, 8, 2.0);
    failures += r.failed;
    std::printf("%8d  %10.0f  %6.2f  %6.2f\n", replicas, r.per_s, r.p50_ms, r.p99_ms);
  }
  s.deploy({"null", make_null_model, &null_model::answer, {.route = "/null"}});
  run_load(s.port(), "/null", body, 8, 0.3);
  auto r = run_load(s.port(), "/null", body, 8, 2.0);
  failures += r.failed;
  std::printf("a replica that answers at once: %.0f requests/s, p50 %.2f ms, p99 %.2f ms: "
              "the ingress and router's own cost\n",
              r.per_s, r.p50_ms, r.p99_ms);
  for (auto& st : s.status())
    std::printf("deployment %s at %s: %d replicas, %llu requests, %llu failed\n",
                st.name.c_str(), st.route.c_str(), st.replicas,
                static_cast<unsigned long long>(st.requests),
                static_cast<unsigned long long>(st.failed));
  s.shutdown();
  troupe::shutdown();
  return failures == 0 ? 0 : 1;
}
