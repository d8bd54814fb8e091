#pragma once

// The encodings of the head's persisted records (schema:
// lib/protocol/head_state.capnp). A record read back is checked as bytes
// from outside: a state store may be shared, restored from a backup or
// corrupt, so every decoder throws `troupe::error` (protocol) for bytes that
// are not a record, and never reads past them (tests/fuzz/head_records).

#include <cstdint>
#include <string>
#include <utility>

#include "actors/actor_directory.hpp"
#include "actors/node_directory.hpp"
#include "scheduler/group_keeper.hpp"

namespace troupe {

/// A state store key that sorts as the number does.
std::string number_key(std::uint64_t n);
/// The key of an actor's record.
std::string actor_key(const object_id& id);

std::string encode_node(const node_info& n);
node_info decode_node(const std::string& bytes);
std::string encode_job(const job_record& j);
job_record decode_job(const std::string& bytes);
std::string encode_actor(const actor_entry& e);
actor_entry decode_actor(const std::string& bytes);
std::string encode_group(const group_spec& spec, const group_state& state);
std::pair<group_spec, group_state> decode_group(const std::string& bytes);
/// The head's counters: the next job id.
std::string encode_counters(std::uint64_t next_job);
std::uint64_t decode_counters(const std::string& bytes);
/// The cluster scheduler's counter: the next placement group id.
std::string encode_group_counter(std::uint64_t next_group);
std::uint64_t decode_group_counter(const std::string& bytes);

} // namespace troupe
