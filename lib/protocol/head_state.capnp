@0xb84f0c2d9e6a5131;
# The head's persisted metadata (actors/head_records.hpp): what a restarted
# head loads from its state store (SQLite or Redis) to take its cluster back.
# One record per table row; CAF handles are never stored (they name a process
# that is gone after a restart): processes and nodes register them again
# when they reconnect, by the ids kept here.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

using Task = import "task.capnp";
using Resource = Task.Resource;

# Table "nodes", key: the node id (8 bytes, big-endian).
struct NodeRecord {
  nodeId @0 :UInt64;
  host @1 :Text;
  port @2 :UInt16;
  segment @3 :Text;
  storeCapacity @4 :UInt64;
  total @5 :List(Resource);
  alive @6 :Bool;
}

# Table "jobs", key: the job id.
struct JobRecord {
  id @0 :UInt64;
  pid @1 :Int32;
  exe @2 :Text;
  embedded @3 :Bool;
  alive @4 :Bool;
  nodeId @5 :UInt64;
  exeHash @6 :Text;
}

# Table "actors", key: the actor id (owner, seq).
struct ActorRecord {
  id @0 :Task.ObjectId;       # its creator is id.owner
  className @1 :Text;
  name @2 :Text;
  nameSpace @3 :Text;
  detached @4 :Bool;
  maxRestarts @5 :Int32;
  maxTaskRetries @6 :Int32;
  phase @7 :UInt8;            # troupe::actor_phase
  workerId @8 :UInt64;        # its worker (the node is the high 32 bits)
  restarts @9 :UInt32;
  death @10 :Task.Error;      # when dead
  killRequested @11 :Bool;
  killRestarts @12 :Bool;
  killReason @13 :Text;
  host @14 :Text;             # where callers connect to its process
  port @15 :UInt16;
  creation @16 :ActorCreation; # what the head rebuilds it from, its creator
                               # gone (an empty spec: nothing kept)
  shared @17 :Bool;           # a light actor: one of many in an actor host
}

# troupe::actor_creation: the creation task as its creator pushed it, and
# the lease it ran in.
struct ActorCreation {
  spec @0 :Data;              # a Task.TaskBatch of one TaskSpec
  exe @1 :Text;
  resources @2 :List(Resource);
  strategy @3 :UInt8;         # troupe::scheduling_strategy::kind
  node @4 :UInt64;
  soft @5 :Bool;
  group @6 :UInt64;
  bundle @7 :Int32;
}

# Table "head", key "counters": what keeps ids unique across restarts.
struct HeadCounters {
  nextJob @0 :UInt64;
}

# Table "groups", key: the placement group id. Written by the cluster
# scheduler (through scheduler/group_keeper.hpp) as a group is made, placed
# and removed (a removed group's row is erased).
struct GroupRecord {
  id @0 :UInt64;
  bundles @1 :List(Bundle);
  strategy @2 :UInt8;         # troupe::placement_strategy
  state @3 :UInt8;            # group_state: pending, placed, infeasible
  nodes @4 :List(UInt64);     # the node of each bundle, once placed
  why @5 :Text;               # when infeasible

  struct Bundle {
    resources @0 :List(Resource);
  }
}

# Table "head", key "groups": the next placement group id (ids are never
# given twice, so a handle kept across a restart names its own group).
struct GroupCounter {
  nextGroup @0 :UInt64;
}
