@0xd6a1e3c5b2f40a17;
# The task protocol between a submitter (the owner of a task's result) and the
# worker that runs it. Carried as the bytes of CAF messages:
#   submitter -> worker executor: TaskBatch   (push)
#   worker executor -> submitter: ResultBatch (done)
#   worker's stream actor -> submitter: ResultBatch of streamed items (done,
#                                      sent as the producer's stream actor)
#   submitter -> worker's stream actor: ack(stream, consumed)  (a CAF message)
# Requests and replies are matched by `taskId`.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

# An amount of a named resource ("CPU", "GPU", a custom one).
struct Resource {
  name @0 :Text;
  amount @1 :Float64;
}

struct ObjectId {
  owner @0 :UInt64;  # 64-bit id of the process that owns the object
  seq @1 :UInt64;    # number of the object among its owner's objects
}

# A value: an argument of a task or its result.
struct Value {
  encoding @0 :UInt8;   # troupe::encoding: 0 = CAF binary, 1 = raw array
  typeHash @1 :UInt64;  # identity of the stored type (codec<T>::type_hash)
  typeName @2 :Text;    # readable stored type, for error messages
  union {
    inline @3 :Data;    # small values travel in the message itself
    stored :group {     # large values live in the node's shared-memory store
      offset @4 :UInt64;  # offset of the object in the store segment
      size @5 :UInt64;    # data bytes of the object
      node @6 :UInt64;    # the node whose store holds it
      id @7 :ObjectId;    # the object, checked when pulled from another node
      transit @8 :Bool;   # the sender handed its pin over: the receiver adopts it
    }
  }
}

# Why a task failed; mirrors troupe::error_kind and the C++ exception.
struct Error {
  kind @0 :UInt8;           # troupe::error_kind
  taskName @1 :Text;        # task that failed first (the cause)
  exceptionType @2 :Text;   # demangled C++ type of what the task threw
  message @3 :Text;         # what() of the exception, or a description
}

struct TaskSpec {
  taskId @0 :UInt64;    # unique among the submitter's tasks
  function @1 :Text;    # registered function name
  name @2 :Text;        # name in listings and errors
  returnId @3 :ObjectId;  # the object that receives the result
  args @4 :List(Value);   # resolved arguments, in parameter order
  maxConcurrency @5 :UInt32;  # actor creations: methods that may run at once
  actorId @6 :ObjectId;       # actor creations: the new actor's id
  extraReturnIds @7 :List(ObjectId);  # a function returning a tuple of N: the
                                      # objects of elements 2..N (returnId gets
                                      # element 1)
  backpressure @8 :UInt32;    # streaming generators: most items produced and
                              # not yet consumed (0: no limit); the stream's
                              # id is returnId
  restarts @9 :UInt32;        # actor creations: how often this actor was
                              # rebuilt before (0: its first instance)
  jobId @10 :UInt64;          # the job it works for: the driver's, passed on
                              # to the tasks it submits (0: none); what it
                              # puts in a node's store counts against that
                              # job's share (--max-job-store-bytes)
  sharedActor @11 :Bool;      # actor creations: a light actor, one CAF actor
                              # among many in this actor-host worker
  resources @12 :List(Resource);  # light actor creations: what the actor holds
                                  # on this host (given back when it ends)
}

struct TaskBatch {
  tasks @0 :List(TaskSpec);  # run in this order
}

struct TaskResult {
  taskId @0 :UInt64;  # the TaskSpec this answers
  union {
    value @1 :Value;  # the function's result
    error @2 :Error;  # why it has none
  }
  execNanos @3 :UInt64;  # how long the function ran (decides pipelining)
  extraValues @4 :List(Value);  # a tuple result: elements 2..N, one per
                                # extraReturnId (value holds element 1)
  itemIndex @5 :UInt64;  # a streamed item: k for the generator's k-th yield
                         # (1-based; value is the item); 0: the task's end
  stream @6 :ObjectId;   # a streamed item: its stream (the task's returnId)
  itemCount @7 :UInt64;  # a generator's end (value or error): items yielded
  nested @8 :List(NestedRef);  # refs serialized in the values: the worker
                               # registered the caller as their borrower
  lostArgument @9 :ObjectId;   # error object_lost: the argument that could
                               # not be read (its owner may rebuild it)
}

# A ref inside a result value (distributed reference counting).
struct NestedRef {
  object @0 :ObjectId;  # the ref
  heldBy @1 :ObjectId;  # the result object whose value holds it
}

struct ResultBatch {
  results @0 :List(TaskResult);  # in completion order
}
