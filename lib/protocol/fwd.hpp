#pragma once

// What the actor interfaces of lib/protocol name before the message types
// are defined: the atoms, and the message structs declared ahead (they carry
// typed handles of each other's actors, so interfaces and messages refer to
// each other; lib/protocol/messages.hpp defines them all).

#include <cstdint>
#include <map>
#include <string>

#include "lib/protocol/atoms.hpp"
#include "troupe/object_id.hpp"

namespace troupe {

/// Resource name -> amount, e.g. {"CPU": 1, "GPU": 0.5}.
using resource_map = std::map<std::string, double>;

struct actor_record;
struct actor_creation;
struct actor_status;
struct bundle_reservation;
struct endpoint;
struct error_info;
struct fetch_request;
struct light_calls;
struct forward_request;
struct group_spec;
struct group_state;
struct hello_reply;
struct job_submission;
struct job_spec;
struct lease_grant;
struct lease_request;
struct log_batch;
struct node_info;
struct node_list;
struct object_location;
struct object_locations;
struct object_meta;
struct object_reply;
struct owner_entry;
struct owner_list;
struct placement;
struct process_exit;
struct pull_request;
struct registration;
struct resource_report;
struct submitted_job;
struct submitted_jobs;
struct worker_hello;

} // namespace troupe
