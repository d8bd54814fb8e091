#pragma once

/// troupe: remote tasks, futures and a shared-memory object store for C++.
///
///     int square(int x) { return x * x; }
///     TROUPE_REMOTE(square);
///
///     int main() {
///       troupe::init();
///       auto ref = troupe::task(square).remote(7);
///       std::cout << troupe::get(ref) << '\n'; // 49
///       troupe::shutdown();
///     }

#include "troupe/actor.hpp"
#include "troupe/async.hpp"
#include "troupe/cancel.hpp"
#include "troupe/codec.hpp"
#include "troupe/condition.hpp"
#include "troupe/errors.hpp"
#include "troupe/get.hpp"
#include "troupe/metrics.hpp"
#include "troupe/object_id.hpp"
#include "troupe/object_ref.hpp"
#include "troupe/runtime.hpp"
#include "troupe/scheduling.hpp"
#include "troupe/shared_array.hpp"
#include "troupe/stream.hpp"
#include "troupe/task.hpp"
