#include "lib/core/stream_producer.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/client.hpp"
#include "lib/core/object_table.hpp"
#include "lib/protocol/capnp_codec.hpp"

namespace troupe::detail {

void stream_credits::open(const object_id& stream) {
  std::lock_guard guard{mtx_};
  streams_[stream];
}

void stream_credits::close(const object_id& stream) {
  std::lock_guard guard{mtx_};
  streams_.erase(stream);
}

void stream_credits::ack(const object_id& stream, std::uint64_t taken) {
  std::function<void()> wake;
  {
    std::lock_guard guard{mtx_};
    auto it = streams_.find(stream);
    if (it == streams_.end() || taken <= it->second.taken)
      return; // a generator that ended, or an ack overtaken by a later one
    auto& s = it->second;
    s.taken = taken;
    if (s.wake && s.taken >= s.need)
      wake = std::exchange(s.wake, nullptr);
  }
  cv_.notify_all();
  if (wake)
    wake();
}

bool stream_credits::wait(const object_id& stream, std::uint64_t need,
                          const std::function<bool()>& give_up) {
  std::unique_lock guard{mtx_};
  for (;;) {
    auto it = streams_.find(stream);
    if (it == streams_.end() || it->second.taken == dropped_mark)
      return false;
    if (it->second.taken >= need)
      return true;
    // A consumer whose process died never acks: the worker is told to stop
    // with its node or job, which `give_up` reads.
    if (give_up && give_up())
      return false;
    cv_.wait_for(guard, std::chrono::milliseconds(500));
  }
}

bool stream_credits::when(const object_id& stream, std::uint64_t need,
                          std::function<void()> wake) {
  std::lock_guard guard{mtx_};
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.taken >= need)
    return true;
  it->second.need = need;
  it->second.wake = std::move(wake);
  return false;
}

bool stream_credits::dropped(const object_id& stream) const {
  std::lock_guard guard{mtx_};
  auto it = streams_.find(stream);
  return it != streams_.end() && it->second.taken == dropped_mark;
}

stream_credits& producer_credits() {
  static stream_credits credits;
  return credits;
}

namespace {

// Spawned with an argument: CAF 0.17 binds a reference to a null tuple for
// a function actor spawned without any.
stream_actor::behavior_type stream_acks_fn(stream_actor::pointer,
                                           stream_credits* credits) {
  return {
      [credits](ack_atom, const object_id& stream, std::uint64_t taken) {
        credits->ack(stream, taken);
      },
  };
}

} // namespace

stream_actor stream_acks(client& c) {
  // One per process and actor system (a worker has one of each for life).
  static std::mutex mtx;
  static caf::actor_system* sys = nullptr;
  static stream_actor acks;
  std::lock_guard guard{mtx};
  if (sys != &c.system() || !acks) {
    sys = &c.system();
    acks = c.system().spawn(stream_acks_fn, &producer_credits());
  }
  return acks;
}

void lend_nested(client& c, const core_actor& caller, const object_id& id,
                 const encoded_value& value, const std::vector<object_id>& extra_ids,
                 const std::vector<encoded_value>& extra, schema::TaskResult::Builder out) {
  auto n = value.nested.size();
  for (auto& e : extra)
    n += e.nested.size();
  if (n == 0)
    return; // the hot path: nothing to lend, nothing allocated
  auto list = out.initNested(static_cast<unsigned>(n));
  unsigned i = 0;
  auto lend = [&](const object_id& held_by, const encoded_value& v) {
    for (auto& ref : v.nested) {
      c.table().lend(ref->id(), caller.address());
      write_object_id(list[i].initObject(), ref->id());
      write_object_id(list[i].initHeldBy(), held_by);
      ++i;
    }
  };
  lend(id, value);
  for (std::size_t k = 0; k < extra.size() && k < extra_ids.size(); ++k)
    lend(extra_ids[k], extra[k]);
}

void settle_borrows(client& c) {
  if (c.table().unacknowledged() == 0)
    return;
  using namespace std::chrono_literals;
  if (!c.table().wait_acknowledged(std::chrono::steady_clock::now() + 30s))
    spdlog::warn("owners did not acknowledge {} borrowed refs in 30 s",
                 c.table().unacknowledged());
}

void emit_item(client& c, const call_info& call, std::uint64_t index,
               encoded_value& item) {
  auto id = stream_item_id(call.return_id, index);
  auto value = c.store_value(item, id);
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(call.task_id);
  write_value(r.initValue(), value);
  r.setItemIndex(index);
  write_object_id(r.initStream(), call.return_id);
  lend_nested(c, call.caller, id, item, {}, {}, r);
  settle_borrows(c);
  // Sent as the stream actor: the consumer acks to it.
  caf::send_as(stream_acks(c), call.caller, done_atom::value, to_bytes(b));
}

} // namespace troupe::detail
