// Where tasks run in a cluster of several nodes: the default (near the
// driver and the data), SPREAD, node affinity, a placement group, and an
// object made on one node and used on another.
//
//   samples/cluster/local_cluster.sh up 3      # a head and two nodes here
//   TROUPE_ADDRESS=127.0.0.1:PORT build/samples/placement [--hold SECONDS]
//
// With --hold it keeps a long task running and its refs alive for that
// long, so that `troupe list tasks` and `troupe list objects` show them.
#include <chrono>
#include <cstring>
#include <iostream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

troupe::node_id where(int sleep_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  return troupe::current_node_id();
}
TROUPE_REMOTE(where);

std::vector<double> make_data(std::size_t n) {
  return std::vector<double>(n, 0.5);
}
TROUPE_REMOTE(make_data);

std::pair<troupe::node_id, double> total(troupe::shared_array<double> xs) {
  return {troupe::current_node_id(), std::accumulate(xs.begin(), xs.end(), 0.0)};
}
TROUPE_REMOTE(total);

int main(int argc, char** argv) {
  int hold = 0;
  if (argc == 3 && std::strcmp(argv[1], "--hold") == 0)
    hold = std::stoi(argv[2]);
  troupe::init();
  auto nodes = troupe::nodes();
  std::cout << "driver on node " << troupe::current_node_id() << "; the cluster:\n";
  for (auto& n : nodes)
    std::cout << "  node " << n.id << " at " << n.address << (n.alive ? "" : " (dead)")
              << ", CPU " << n.total["CPU"] << "\n";

  // SPREAD: one task after another over the nodes.
  troupe::task_options spread;
  spread.strategy = troupe::scheduling_strategy::spread();
  std::vector<troupe::object_ref<troupe::node_id>> refs;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    refs.push_back(troupe::task(where, spread).remote(200));
  std::cout << "SPREAD ran on nodes";
  for (auto n : troupe::get(refs))
    std::cout << " " << n;
  std::cout << "\n";

  // Node affinity, and data made on the last node summed where it lies.
  auto last = nodes.back().id;
  troupe::task_options there;
  there.strategy = troupe::scheduling_strategy::on_node(last);
  auto data = troupe::task(make_data, there).remote(std::size_t{1} << 20); // 8 MB
  auto [summed_on, sum] = troupe::get(troupe::task(total).remote(data));
  std::cout << "8 MB made on node " << last << ", summed on node " << summed_on << " = "
            << sum << "\n";
  auto local = troupe::get(data); // pulled to this node's store
  std::cout << "the driver got it too: " << local.size() << " values\n";

  // A placement group: one CPU reserved on each node (STRICT_SPREAD: SPREAD
  // only tries to, and may double up on a node while another is busy), a
  // task in each bundle.
  std::vector<std::map<std::string, double>> bundles(nodes.size(), {{"CPU", 1}});
  auto pg = troupe::create_placement_group(bundles, troupe::placement_strategy::strict_spread);
  if (pg.wait(std::chrono::seconds(30))) {
    std::cout << "placement group bundles on nodes";
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(bundles.size()); ++i) {
      troupe::task_options in_bundle;
      in_bundle.strategy = troupe::scheduling_strategy::in_group(pg, i);
      std::cout << " " << troupe::get(troupe::task(where, in_bundle).remote(0));
    }
    std::cout << "\n";
  }
  troupe::remove_placement_group(pg);

  if (hold > 0) {
    auto running = troupe::task(where).remote(hold * 1000);
    std::cout << "holding for " << hold << " s: try `troupe list tasks` and `troupe list "
                 "objects`" << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(hold));
    troupe::get(running);
  }
  troupe::shutdown();
}
