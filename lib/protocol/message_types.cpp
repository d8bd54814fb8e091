#include <caf/actor_system_config.hpp>

#include "lib/protocol/messages.hpp"

#include <sys/wait.h>

namespace troupe {

bool process_exit::clean() const noexcept {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<object_id>("troupe.object_id");
  cfg.add_message_type<error_info>("troupe.error_info");
  cfg.add_message_type<resource_map>("troupe.resource_map");
  cfg.add_message_type<endpoint>("troupe.endpoint");
  cfg.add_message_type<job_spec>("troupe.job_spec");
  cfg.add_message_type<node_info>("troupe.node_info");
  cfg.add_message_type<hello_reply>("troupe.hello_reply");
  cfg.add_message_type<worker_hello>("troupe.worker_hello");
  cfg.add_message_type<lease_request>("troupe.lease_request");
  cfg.add_message_type<lease_grant>("troupe.lease_grant");
  cfg.add_message_type<object_reply>("troupe.object_reply");
  cfg.add_message_type<actor_record>("troupe.actor_record");
  cfg.add_message_type<actor_creation>("troupe.actor_creation");
  cfg.add_message_type<actor_status>("troupe.actor_status");
  cfg.add_message_type<node_list>("troupe.node_list");
  cfg.add_message_type<owner_list>("troupe.owner_list");
  cfg.add_message_type<object_location>("troupe.object_location");
  cfg.add_message_type<object_locations>("troupe.object_locations");
  cfg.add_message_type<resource_report>("troupe.resource_report");
  cfg.add_message_type<placement>("troupe.placement");
  cfg.add_message_type<group_spec>("troupe.group_spec");
  cfg.add_message_type<group_state>("troupe.group_state");
  cfg.add_message_type<bundle_reservation>("troupe.bundle_reservation");
  cfg.add_message_type<object_meta>("troupe.object_meta");
  cfg.add_message_type<pull_request>("troupe.pull_request");
  cfg.add_message_type<fetch_request>("troupe.fetch_request");
  cfg.add_message_type<light_calls>("troupe.light_calls");
  cfg.add_message_type<forward_request>("troupe.forward_request");
  cfg.add_message_type<owner_entry>("troupe.owner_entry");
  cfg.add_message_type<process_exit>("troupe.process_exit");
  cfg.add_message_type<registration>("troupe.registration");
  cfg.add_message_type<log_line>("troupe.log_line");
  cfg.add_message_type<log_batch>("troupe.log_batch");
  cfg.add_message_type<job_submission>("troupe.job_submission");
  cfg.add_message_type<submitted_job>("troupe.submitted_job");
  cfg.add_message_type<submitted_jobs>("troupe.submitted_jobs");
  // The typed handles that travel as message elements or struct fields.
  cfg.add_message_type<core_actor>("troupe.core_actor");
  cfg.add_message_type<executor_actor>("troupe.executor_actor");
  cfg.add_message_type<control_store_actor>("troupe.control_store_actor");
  cfg.add_message_type<local_scheduler_actor>("troupe.local_scheduler_actor");
  cfg.add_message_type<cluster_scheduler_actor>("troupe.cluster_scheduler_actor");
  cfg.add_message_type<store_manager_actor>("troupe.store_manager_actor");
  cfg.add_message_type<job_manager_actor>("troupe.job_manager_actor");
  cfg.add_message_type<exe_source_actor>("troupe.exe_source_actor");
}

} // namespace troupe
