#pragma once

// The head's dashboard: a web page (the files of dashboard/, built into the
// binary: no CDN, machines may have no internet) and the JSON API it and
// any script read, like Ray's on port 8265:
//
//     GET /                       the page (refreshes itself every 2 s)
//     GET /api/cluster            everything below in one document
//     GET /api/nodes              nodes: address, liveness, resources, workers, store
//     GET /api/actors             actors: state, node, worker, restarts, death
//     GET /api/tasks              tasks not done: state, node, attempt, owner
//     GET /api/placement_groups   groups: state, bundles, nodes
//     GET /api/jobs               drivers: id, pid, alive
//     GET /api/errors             what went wrong lately: dead actors and nodes,
//                                 retried tasks, demands no node can serve
//     GET /api/logs?node=N        node N's log files
//     GET /api/log?node=N&file=F[&tail=BYTES]   the end of one (64 KiB by default)
//
// With security on, every request needs the cluster token: once as
// `/?token=...` (it is then kept in a cookie, HttpOnly, SameSite=Strict),
// or as `Authorization: Bearer ...`; else 401.

#include <string>

#include <caf/fwd.hpp>

#include "lib/protocol/messages.hpp"

namespace httplib {
class Server;
} // namespace httplib

namespace troupe {

/// Puts the dashboard's routes on `s`; it asks the cluster through control
/// store `cs`. `token`: the cluster token every request must carry ("":
/// none, an insecure cluster).
void dashboard_routes(httplib::Server& s, caf::actor_system& sys, const control_store_actor& cs,
                      const std::string& token);

/// Returns whether `given` is `token`, in time independent of where they
/// differ.
bool same_token(const std::string& given, const std::string& token);

} // namespace troupe
