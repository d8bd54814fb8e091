#pragma once

// `troupe metrics`: a scrape of the nodes' metrics endpoints, as Prometheus
// would take it (actors/node_http.hpp).

#include <cstdint>
#include <string>

namespace troupe::tools {

/// Prints the metrics of node `node` (0: of every node, each under a
/// comment naming it) of the cluster at `address`; returns the exit code.
int run_metrics(std::string address, std::uint64_t node);

/// Returns the body of `GET http://HOST:PORT/path`; throws
/// std::runtime_error saying why there is none.
std::string http_get(const std::string& host_port, const std::string& path);

} // namespace troupe::tools
