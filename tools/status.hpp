#pragma once

// `troupe status` and `troupe list`: ask the cluster's system actors (through
// any node) to describe themselves.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/cluster_query.hpp"

namespace troupe::tools {

/// Asks the node at `host:port` (any node of the cluster) to describe the
/// cluster, and with `with_processes` every driver and worker its tasks and
/// objects; returns an error message (also when a reply is not a status
/// document) or an empty string.
std::string query_cluster(const std::string& host, std::uint16_t port, cluster_status& out,
                          bool with_processes);

/// Splits `HOST:PORT` (empty: the head started here); returns 0, or the exit
/// code with `why` set: 1 when no head runs here, 2 when it is not HOST:PORT.
int parse_address(std::string& address, std::string& host, std::uint16_t& port,
                  std::string& why);

/// Prints the status of the cluster that the node at `address` belongs to
/// (`host:port`; empty: the head in the pid files): each node alive or dead
/// with its resources used/total, workers and store, the sums, pending
/// demands and demands no node can serve; with `json` one object
/// `{"address", "control", "cluster", "nodes": [{id, address, alive,
/// scheduler, store}]}` (the documents of lib/protocol/status.hpp). Returns 0, or 1 if the cluster cannot be reached.
int run_status(std::string address, bool json);

/// `troupe list nodes|actors|placement-groups|tasks|objects`: a table, or
/// with `json` a JSON array. Returns the exit code.
int run_list(const std::string& what, std::string address, bool json);

} // namespace troupe::tools
