#pragma once

// The atoms of troupe's protocol: the first element of every message between
// its actors (CAF 0.17 atoms hold at most 10 characters).

#include <caf/atom.hpp>

namespace troupe {

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using node_atom = caf::atom_constant<caf::atom("node")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using return_atom = caf::atom_constant<caf::atom("return")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using blocked_atom = caf::atom_constant<caf::atom("blocked")>;
using unblocked_atom = caf::atom_constant<caf::atom("unblocked")>;
using child_atom = caf::atom_constant<caf::atom("child")>;
using granted_atom = caf::atom_constant<caf::atom("granted")>;
using denied_atom = caf::atom_constant<caf::atom("denied")>;
using worker_died_atom = caf::atom_constant<caf::atom("wkr_died")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using object_atom = caf::atom_constant<caf::atom("object")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using job_end_atom = caf::atom_constant<caf::atom("job_end")>;
using actor_up_atom = caf::atom_constant<caf::atom("actor_up")>;
using actor_fail_atom = caf::atom_constant<caf::atom("actor_fail")>;
using actor_exit_atom = caf::atom_constant<caf::atom("actor_exit")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using actor_atom = caf::atom_constant<caf::atom("actor")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using worker_exit_atom = caf::atom_constant<caf::atom("wkr_exit")>;
using finalize_atom = caf::atom_constant<caf::atom("finalize")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using owner_atom = caf::atom_constant<caf::atom("owner")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using node_down_atom = caf::atom_constant<caf::atom("node_down")>;
using gone_atom = caf::atom_constant<caf::atom("gone")>;
using pull_atom = caf::atom_constant<caf::atom("pull")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using unpin_atom = caf::atom_constant<caf::atom("unpin")>;
using group_atom = caf::atom_constant<caf::atom("group")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using pin_atom = caf::atom_constant<caf::atom("pin")>;
using exe_atom = caf::atom_constant<caf::atom("exe")>;
using introduce_atom = caf::atom_constant<caf::atom("introduce")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using rebuild_atom = caf::atom_constant<caf::atom("rebuild")>;
using evict_atom = caf::atom_constant<caf::atom("evict")>;
using borrow_atom = caf::atom_constant<caf::atom("borrow")>;
using unborrow_atom = caf::atom_constant<caf::atom("unborrow")>;
using built_atom = caf::atom_constant<caf::atom("built")>;
using creation_atom = caf::atom_constant<caf::atom("creation")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using processes_atom = caf::atom_constant<caf::atom("processes")>;
using jobs_atom = caf::atom_constant<caf::atom("jobs")>;

} // namespace troupe
