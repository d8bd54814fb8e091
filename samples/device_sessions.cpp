// Many actors: one light actor per device, as an IoT backend keeps a session
// per device (the Orleans and Akka use case). 20,000 devices report
// readings; each device's actor keeps its own running statistics and an
// alarm state, with no locks, in a handful of shared host processes.
//
// A few "gateway" devices get a process of their own
// (actor_isolation::process, the default): they hold native driver code that
// may crash, and a crash must take no other device down.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <unistd.h>
#include <vector>

#include <troupe/troupe.hpp>

/// A device's session: its readings so far and whether it is in alarm.
class device {
public:
  explicit device(double limit) : limit_(limit) {}

  /// Records a reading; returns whether the device is in alarm now (three
  /// readings over the limit in a row).
  bool report(double value) {
    ++count_;
    sum_ += value;
    over_ = value > limit_ ? over_ + 1 : 0;
    return over_ >= 3;
  }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
  std::int64_t readings() const { return count_; }
  int host() const { return static_cast<int>(::getpid()); }

private:
  double limit_;
  std::int64_t count_ = 0;
  double sum_ = 0;
  int over_ = 0;
};

std::unique_ptr<device> make_device(double limit) {
  return std::make_unique<device>(limit);
}
TROUPE_REMOTE(make_device);
TROUPE_REMOTE(&device::report);
TROUPE_REMOTE(&device::mean);
TROUPE_REMOTE(&device::readings);
TROUPE_REMOTE(&device::host);

int main() {
  using clock = std::chrono::steady_clock;
  constexpr std::size_t devices = 20'000;
  constexpr std::size_t rounds = 5;
  troupe::init();
  troupe::actor_options light;
  light.isolation = troupe::actor_isolation::shared;
  auto t0 = clock::now();
  std::vector<troupe::actor_handle<device>> fleet;
  fleet.reserve(devices);
  for (std::size_t i = 0; i < devices; ++i)
    fleet.push_back(troupe::actor(make_device, light).remote(90.0));
  // Gateways: a process each.
  std::vector<troupe::actor_handle<device>> gateways;
  for (int i = 0; i < 2; ++i)
    gateways.push_back(troupe::actor(make_device).remote(90.0));

  // Every device reports `rounds` readings; device 7 runs hot.
  std::mt19937_64 rng{2026};
  std::normal_distribution<double> temperature{60, 10};
  std::vector<troupe::object_ref<bool>> alarms;
  alarms.reserve(devices * rounds);
  for (std::size_t r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < devices; ++i)
      alarms.push_back(
        fleet[i].task(&device::report).remote(i == 7 ? 120.0 : temperature(rng)));
  auto flags = troupe::get(alarms);
  auto took = std::chrono::duration<double>(clock::now() - t0).count();

  std::set<std::size_t> alarmed;
  for (std::size_t k = 0; k < flags.size(); ++k)
    if (flags[k])
      alarmed.insert(k % devices);
  std::vector<troupe::object_ref<std::int64_t>> counts;
  std::vector<troupe::object_ref<int>> hosts;
  for (auto& d : fleet) {
    counts.push_back(d.task(&device::readings).remote());
    hosts.push_back(d.task(&device::host).remote());
  }
  std::int64_t total = 0;
  for (auto n : troupe::get(counts))
    total += n;
  auto host_pids = troupe::get(hosts);
  std::set<int> distinct(host_pids.begin(), host_pids.end());
  std::set<int> gateway_pids;
  for (auto& g : gateways)
    gateway_pids.insert(troupe::get(g.task(&device::host).remote()));

  std::cout << devices << " device actors in " << distinct.size()
            << " host processes; 2 gateways in " << gateway_pids.size()
            << " processes of their own\n"
            << total << " readings in " << took << " s (created, then "
            << rounds << " readings each): " << static_cast<double>(total) / took
            << " readings/s\n"
            << "devices in alarm: " << alarmed.size() << " (device 7 runs hot)\n";
  troupe::shutdown();
  bool ok = total == static_cast<std::int64_t>(devices * rounds)
            && alarmed == std::set<std::size_t>{7} && gateway_pids.size() == 2
            && distinct.size() < 64;
  if (!ok)
    std::cerr << "device_sessions: wrong results\n";
  return ok ? 0 : 1;
}
