#pragma once

// This test process's own status document, as `troupe list` reads it from
// every driver and worker: its tasks, objects, address and peers.

#include <chrono>
#include <string>

#include "lib/common/ask.hpp"
#include "lib/core/client.hpp"
#include "lib/protocol/status.hpp"

namespace troupe::test {

inline troupe::process_status own_status() {
  auto& c = troupe::detail::client::get();
  auto text = troupe::detail::ask<std::string>(c.system(), c.core(), std::chrono::seconds(5),
                                               "the core did not answer",
                                               troupe::status_atom::value);
  return troupe::from_json_text<troupe::process_status>(text);
}

} // namespace troupe::test
