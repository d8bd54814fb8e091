#pragma once

#include <cstdint>
#include <string>

namespace troupe::detail {

/// Says who holds TCP port `port` on this machine, from /proc/net/tcp and
/// /proc/net/tcp6, e.g. `a listening socket; a connection to 127.0.0.1:6379
/// (ESTABLISHED)`; empty when no socket has it. Used to explain why a node
/// cannot listen on the port it was told to (a head restarted on its old
/// port while another process took it).
std::string port_users(std::uint16_t port);

} // namespace troupe::detail
