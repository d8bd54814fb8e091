#include "lib/core/peer_links.hpp"

#include <spdlog/spdlog.h>

namespace troupe::detail {

namespace {

bool same(const endpoint& a, const endpoint& b) {
  return a.port == b.port && a.host == b.host;
}

} // namespace

peer_links::peer_links(io& out, peer self, std::size_t max_direct)
  : io_(out), self_(std::move(self)), max_direct_(max_direct) {
}

void peer_links::learn(const peer& who, const endpoint& where) {
  if (where.port == 0 || !who || who == self_)
    return;
  auto& l = links_[who];
  if (l.st == state::unknown)
    l.where = where;
}

void peer_links::send(const peer& who, action send_it) {
  auto it = links_.find(who);
  if (it == links_.end()) {
    send_it(); // (2) no endpoint known: through whatever route CAF has
    return;
  }
  auto& l = it->second;
  switch (l.st) {
    case state::direct:
    case state::relayed:
      send_it();
      return;
    case state::connecting:
      l.held.push_back(std::move(send_it));
      return;
    case state::unknown:
      break;
  }
  if (direct_ + connecting_ >= max_direct_) {
    send_it(); // (2) at the cap: the relay
    return;
  }
  l.st = state::connecting; // (1)
  ++connecting_;
  l.held.push_back(std::move(send_it));
  io_.connect(l.where);
}

void peer_links::on_connected(const endpoint& where, const peer& who) {
  settle(where, state::direct, &who);
}

void peer_links::on_failed(const endpoint& where, const std::string& why) {
  spdlog::warn("no direct connection to {}:{} ({}): messages to it go through the nodes",
               where.host, where.port, why);
  settle(where, state::relayed, nullptr);
}

void peer_links::settle(const endpoint& where, state outcome, const peer* answered_by) {
  std::vector<action> ready;
  for (auto& [who, l] : links_) {
    if (l.st != state::connecting || !same(l.where, where))
      continue;
    --connecting_;
    // A port taken over by another process: this peer is not there.
    l.st = answered_by && *answered_by != who ? state::relayed : outcome; // (3), (4)
    if (l.st == state::direct)
      ++direct_;
    for (auto& a : l.held)
      ready.push_back(std::move(a));
    l.held.clear();
  }
  for (auto& a : ready)
    a();
}

void peer_links::lost(const peer& who) {
  auto it = links_.find(who);
  if (it == links_.end() || it->second.st == state::connecting)
    return;
  if (it->second.st == state::direct)
    --direct_;
  links_.erase(it); // (5) forgotten, with its endpoint: dead peers leave nothing
}

bool peer_links::sends_now(const peer& who) const {
  auto it = links_.find(who);
  return it == links_.end() || it->second.st == state::direct
         || it->second.st == state::relayed;
}

bool peer_links::is_direct(const peer& who) const {
  auto it = links_.find(who);
  return it != links_.end() && it->second.st == state::direct;
}

} // namespace troupe::detail
