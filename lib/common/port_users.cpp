#include "lib/common/port_users.hpp"

#include <array>
#include <fstream>
#include <sstream>

namespace troupe::detail {

namespace {

/// The kernel's TCP states, by the number /proc/net/tcp shows (include/net/tcp_states.h).
std::string state_name(unsigned state) {
  static constexpr std::array<const char*, 13> names{
    "?",         "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
    "CLOSE",     "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
  return state < names.size() ? names[state] : "state " + std::to_string(state);
}

/// `0100007F:1F90` (IPv4, little-endian hex) -> `127.0.0.1:8080`; IPv6
/// addresses are shown as the kernel writes them.
std::string render_address(const std::string& hex) {
  auto colon = hex.find(':');
  if (colon == std::string::npos)
    return hex;
  auto port = std::stoul(hex.substr(colon + 1), nullptr, 16);
  auto host = hex.substr(0, colon);
  if (host.size() != 8)
    return "[" + host + "]:" + std::to_string(port);
  auto ip = std::stoul(host, nullptr, 16);
  std::ostringstream out;
  out << (ip & 0xff) << '.' << ((ip >> 8) & 0xff) << '.' << ((ip >> 16) & 0xff) << '.'
      << ((ip >> 24) & 0xff) << ':' << port;
  return out.str();
}

void scan(const char* table, std::uint16_t port, std::string& out) {
  std::ifstream in{table};
  std::string line;
  std::getline(in, line); // the header
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string slot, local, remote, state_hex;
    if (!(fields >> slot >> local >> remote >> state_hex))
      continue;
    auto colon = local.rfind(':');
    if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port)
      continue;
    auto state = static_cast<unsigned>(std::stoul(state_hex, nullptr, 16));
    if (!out.empty())
      out += "; ";
    if (state == 10)
      out += "a listening socket";
    else
      out += "a connection to " + render_address(remote) + " (" + state_name(state) + ")";
  }
}

} // namespace

std::string port_users(std::uint16_t port) {
  std::string out;
  scan("/proc/net/tcp", port, out);
  scan("/proc/net/tcp6", port, out);
  return out;
}

} // namespace troupe::detail
