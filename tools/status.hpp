#pragma once

// `troupe status`: asks a node's system actors to describe themselves.

#include <string>

namespace troupe::tools {

/// Prints the status of the node at `address` (`host:port`; empty: the single
/// node in the pid files) as a summary or, with `json`, as one JSON object
/// `{"address", "node_id" (a string: it does not fit a double), "node",
/// "scheduler", "store"}`, the last three as the system actors send them.
/// Returns the exit code:
/// 0, or 1 if the node cannot be reached or does not answer within 5 s.
int run_status(std::string address, bool json);

} // namespace troupe::tools
