#include "lib/core/client.hpp"

#include "lib/net/transport.hpp"

#include <chrono>
#include <cstring>
#include <random>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store.hpp"
#include "lib/common/ask.hpp"
#include "lib/common/config.hpp"
#include "lib/core/core_actor.hpp"
#include "lib/common/exe_files.hpp"
#include "lib/common/process.hpp"
#include "lib/protocol/handles.hpp"
#include "scheduler/local_scheduler.hpp"
#include "store/store_manager.hpp"

namespace troupe::detail {

namespace {

std::atomic<client*> the_client{nullptr};

std::uint64_t random_owner_id() {
  std::random_device rd;
  std::uint64_t x = (static_cast<std::uint64_t>(rd()) << 32) ^ rd()
                    ^ static_cast<std::uint64_t>(::getpid());
  return x == 0 ? 1 : x;
}

} // namespace

void set_client(client* c) noexcept {
  the_client.store(c);
}

client* client::try_get() noexcept {
  return the_client.load();
}

client& client::get() {
  auto* c = the_client.load();
  if (!c)
    throw error(error_kind::runtime, "troupe is not initialised: call troupe::init() first");
  return *c;
}

client::client(process_role role, const std::string& host, std::uint16_t port,
               bool embedded)
  : role_(role), exe_(job_exe()), owner_id_(random_owner_id()) {
  auto sec = net::security_from_env(role == process_role::worker ? "worker" : "driver");
  config_ = make_system_config();
  system_ = std::make_unique<caf::actor_system>(*config_);
  transport_ = std::make_unique<net::transport>(*system_, std::move(sec));
  table_ = std::make_shared<object_table>(
    owner_id_, [this](std::uint64_t off, std::uint64_t node) { unpin_stored(off, node); },
    [this](const stored_value& v) { return view_stored(v); });
  connect(host, port, embedded);
}

client::~client() {
  close();
}

void client::connect(const std::string& host, std::uint16_t port, bool embedded) {
  using namespace std::chrono_literals;
  auto cs = net::remote_actor<control_store_actor>(*system_, host, port);
  if (!cs)
    throw error(error_kind::runtime,
                "cannot reach a troupe node at " + host + ":" + std::to_string(port) + ": "
                  + system_->render(cs.error())
                  + (net::insecure(*system_)
                       ? std::string{" (this process runs without TLS: is the cluster "
                                     "started with --insecure too?)"}
                       : std::string{" (check that this process has the cluster's "
                                     "token: a node refuses a wrong one and logs it)"}));
  control_store_ = *cs;
  // A node answers in milliseconds. Rarely (seen with many workers starting
  // at once) a new connection's messages go unanswered for good: asking
  // again on it does not help, so a worker gives up soon and its node starts
  // another in its place.
  node_ = ask<node_info>(*system_, *cs, role_ == process_role::worker ? 5s : 10s,
                         "the node at " + host + ":" + std::to_string(port)
                           + " did not answer",
                         node_atom::value);
  try {
    auto m = std::make_shared<store_mapping>();
    m->segment = store::shm_allocator::open(node_.segment);
    m->store = std::make_unique<store::object_store>(*m->segment);
    mapping_ = std::move(m);
  } catch (const std::exception& e) {
    throw error(error_kind::runtime, "cannot map the node's object store '"
                                       + node_.segment + "': " + e.what());
  }
  listen_for_peers();
  core_ = spawn_core(*system_, *this);
  // Refs are public types: they name their owner untyped.
  table_->set_self(handle_cast<caf::actor>(core_));
  // Reference counting runs through the core actor (object_table.hpp).
  table_->set_borrow_hooks(
    [core = core_](const object_id& id, const caf::actor_addr& borrower) {
      caf::anon_send(core, borrow_atom::value, id, borrower);
    },
    [core = core_](const object_id& id, const caf::actor& owner, std::uint32_t n) {
      caf::anon_send(core, unborrow_atom::value, id, owner, n);
    },
    [cs = *cs](const object_id& actor) {
      // No handle to it is left anywhere: the actor ends (as in Ray).
      caf::anon_send(cs, kill_atom::value, actor, true,
                     std::string{"its last handle is gone (it was not detached)"});
    });
  // Others holding our refs find us by our owner id.
  caf::anon_send(*cs, register_atom::value, owner_entry{owner_id_, core_, address_},
                 node_.node_id);
  if (role_ == process_role::driver) {
    job_spec spec{exe_, static_cast<std::int32_t>(::getpid()), embedded, core_,
                  node_.node_id, ""};
    // Nodes of a cluster may lack this executable: they fetch it by hash.
    if (!embedded)
      spec.exe_hash = file_sha256("/proc/self/exe");
    job_id_ = ask<hello_reply>(*system_, *cs, 10s, "the node refused this driver",
                               hello_atom::value, spec)
                .job_id;
  }
}

void client::listen_for_peers() {
  // TROUPE_DIRECT_CONNECTIONS=0 sends everything through the node daemons,
  // as troupe did before (to compare, or where peers cannot reach each other).
  if (env_or("TROUPE_DIRECT_CONNECTIONS", "1") == "0")
    return;
  max_direct_peers_ = std::stoul(env_or("TROUPE_MAX_DIRECT_PEERS", "256"));
  // On the address the node is reached at, so that peers on other machines
  // reach this process the same way. A driver whose node is on another
  // machine cannot listen there: it still connects to its peers, and they
  // answer over those connections, or reach it through the nodes.
  auto port = net::open(*system_, 0, node_.host);
  if (!port) {
    spdlog::info("not listening for direct connections on {}: {}", node_.host,
                 system_->render(port.error()));
    return;
  }
  address_ = {node_.host, *port};
}

void client::close() {
  if (!system_)
    return;
  closing = true;
  if (core_) {
    // Wait for the core to stop before its handles go away under it.
    caf::scoped_actor self{*system_};
    self->monitor(core_);
    caf::anon_send_exit(core_, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(5)) >> [] {});
  }
  core_ = nullptr;
  control_store_ = nullptr;
  node_.scheduler = nullptr;
  node_.store_manager = nullptr;
  transport_.reset();
  system_.reset();
  config_.reset();
}

ref_ptr client::submit(const function_entry& fn, std::vector<task_arg>&& args,
                       const std::string& name, placement where,
                       const std::function<void(task_record&)>& adjust) {
  task_record t;
  t.task_id = next_task_.fetch_add(1, std::memory_order_relaxed);
  t.fn = &fn;
  t.name = name.empty() ? fn.name : name;
  t.return_id = next_object_id();
  t.resources = std::move(where.resources);
  t.strategy = where.strategy;
  t.parent = current_task(); // a recursive cancel of it reaches this task
  t.job = current_job();
  for (auto& a : args) {
    if (a.ref)
      continue;
    if (a.value.size() > max_inline_bytes) {
      a.ref = put(std::move(a.value)); // large arguments go to the store once
      a.value = {};
    } else {
      a.value.own();
    }
  }
  t.args = std::move(args);
  if (adjust)
    adjust(t);
  auto ref = table_->create_owned(t.return_id, t.name);
  bool nudge;
  {
    std::lock_guard guard{queue_mtx_};
    nudge = queue_.empty();
    queue_.push_back(std::move(t));
  }
  if (nudge)
    caf::anon_send(core_, submit_atom::value);
  return ref;
}

void client::park_forward(ref_ptr ref) {
  std::lock_guard guard{forward_mtx_};
  parked_[ref_id(*ref)] = std::move(ref);
}

ref_ptr client::unpark_forward(const object_id& id) {
  std::lock_guard guard{forward_mtx_};
  auto it = parked_.find(id);
  if (it == parked_.end())
    return nullptr;
  auto ref = std::move(it->second);
  parked_.erase(it);
  return ref;
}

void client::take_submissions(std::vector<task_record>& out) {
  std::lock_guard guard{queue_mtx_};
  out.swap(queue_);
}

raw_value client::get(const ref_ptr& ref, const deadline& until) {
  if (!ref)
    throw error(error_kind::object_lost, "get of an empty object_ref");
  auto id = ref_id(*ref);
  bool blocked = false;
  auto on_block = [&] {
    if (id.owner != owner_id_)
      caf::anon_send(core_, fetch_atom::value, id);
    if (role_ == process_role::worker && in_task) {
      blocked = true;
      caf::anon_send(node_.scheduler, blocked_atom::value, worker_id);
    }
  };
  auto unblock = [&] {
    if (blocked)
      caf::anon_send(node_.scheduler, unblocked_atom::value, worker_id);
  };
  // A value whose only copy was lost with its node is rebuilt by its owner
  // from its lineage (each time counts against the task's max_retries).
  for (int rebuilds = 0;; ++rebuilds) {
    try {
      auto v = table_->wait_value(id, until, on_block);
      unblock();
      return v;
    } catch (const lost_value& e) {
      using namespace std::chrono_literals;
      auto why = rebuilds < 1000 ? ask<std::string>(*system_, core_, 60s, "the core did not answer",
                                                     rebuild_atom::value, id)
                                 : std::string{"it was lost again and again"};
      if (!why.empty()) {
        unblock();
        throw error(error_kind::object_lost, std::string{e.what()} + "; " + why);
      }
    } catch (...) {
      unblock();
      throw;
    }
  }
}

void client::wait(const std::vector<ref_ptr>& refs, std::size_t num, const deadline& until,
                  std::vector<bool>& ready) {
  std::vector<object_id> ids;
  ids.reserve(refs.size());
  for (auto& r : refs)
    ids.push_back(r ? ref_id(*r) : object_id{});
  bool blocked = false;
  auto on_block = [&] {
    for (auto& id : ids)
      if (id.valid() && id.owner != owner_id_)
        caf::anon_send(core_, fetch_atom::value, id);
    if (role_ == process_role::worker && in_task) {
      blocked = true;
      caf::anon_send(node_.scheduler, blocked_atom::value, worker_id);
    }
  };
  table_->wait_many(ids, num, until, ready, on_block);
  if (blocked)
    caf::anon_send(node_.scheduler, unblocked_atom::value, worker_id);
}

std::uint64_t client::current_job() const noexcept {
  auto job = current_task_job();
  return job != 0 ? job : job_id_;
}

ref_ptr client::put(encoded_value&& value, bool in_store) {
  auto id = next_object_id();
  auto nested = std::move(value.nested);
  auto ref = table_->create_ready(id, store_value(value, id, in_store));
  table_->hold_nested(id, std::move(nested)); // its value holds these refs
  return ref;
}

stored_value client::store_value(encoded_value& v, const object_id& id, bool in_store) {
  stored_value s;
  s.enc = v.enc;
  s.type_hash = v.type_hash;
  s.type_name = v.type_name;
  if (v.size() <= max_inline_bytes && !in_store) {
    if (v.raw)
      s.inline_data = std::make_shared<const std::vector<char>>(
        reinterpret_cast<const char*>(v.raw),
        reinterpret_cast<const char*>(v.raw) + v.raw_size);
    else
      s.inline_data = std::make_shared<const std::vector<char>>(
        std::move(v.buffer));
    return s;
  }
  auto& store = *mapping_->store;
  auto w = create_in_store(id, v);
  store.seal(w.offset);
  if (id.owner != owner_id_) {
    store.hand_over(w.offset); // its owner adopts it
    s.transit = true;
  }
  // The object directory learns where a large object is (other nodes may
  // pull it from here, or from copies, when its owner's node is gone). A
  // small one put here on purpose is left out, as a small value in the
  // owner's memory is: two messages a put (this one and the free) fell
  // behind at 100k puts/s, until the node took its driver for dead.
  if (v.size() > max_inline_bytes)
    caf::anon_send(control_store_, object_atom::value,
                   object_location{id, node_.node_id, w.offset, w.size, true});
  s.in_store = true;
  s.offset = w.offset;
  s.size = w.size;
  s.node = node_.node_id;
  s.id = id;
  return s;
}

store::writable client::create_in_store(const object_id& id, encoded_value& v) {
  auto& store = *mapping_->store;
  auto job = current_job();
  while (store.fits_in_memory(v.size())) {
    try {
      return store.create_copy(id, v.data(), v.size(), v.type_hash, v.type_name, v.enc, job);
    } catch (const job_store_limit_error&) {
      // The job's own objects nobody reads go to disk first, as the store's
      // would when it is full; what is read stays, and the put fails.
      using namespace std::chrono_literals;
      auto freed = try_ask<std::uint64_t>(*system_, node_.store_manager, 60s, evict_atom::value,
                                          static_cast<std::uint64_t>(v.size()), job);
      if (!freed || *freed == 0)
        throw;
    } catch (const object_store_full&) {
      // The node's manager makes room (cached copies of other nodes'
      // objects, then objects nobody reads, to disk), and the put tries again.
      using namespace std::chrono_literals;
      auto freed = try_ask<std::uint64_t>(*system_, node_.store_manager, 60s, evict_atom::value,
                                          static_cast<std::uint64_t>(v.size()));
      if (!freed || *freed == 0)
        break;
    }
  }
  // Larger than the store, or no room to be made: a file of its own.
  return store.create_on_disk(id, v.size(), v.type_hash, v.type_name, v.enc, v.data(), job);
}

store::readable client::read_in_store(std::uint64_t offset, std::uint64_t size) {
  for (;;) {
    try {
      return mapping_->store->read(offset);
    } catch (const object_store_full&) {
      // Spilled, and no room to read it back: the node's manager makes room
      // (cached copies, then other objects to disk), and the read tries again.
      using namespace std::chrono_literals;
      auto freed = try_ask<std::uint64_t>(*system_, node_.store_manager, 60s, evict_atom::value,
                                          size);
      if (!freed || *freed == 0)
        throw;
    }
  }
}

void client::pin_stored(const stored_value& v) {
  if (v.node == 0 || v.node == node_.node_id)
    mapping_->store->pin(v.offset);
  else
    caf::anon_send(node_.store_manager,
                   pin_atom::value, v.offset, v.node);
}

void client::pin_for_receiver(stored_value& v) {
  if (v.node != 0 && v.node != node_.node_id) {
    pin_stored(v); // held by that node's manager, which any node may ask to unpin
    return;
  }
  auto& store = *mapping_->store;
  store.pin(v.offset);
  store.hand_over(v.offset);
  v.transit = true;
}

bool client::adopt_stored(stored_value& v) {
  if (!v.in_store || !std::exchange(v.transit, false))
    return true;
  if (v.node == 0 || v.node == node_.node_id)
    return mapping_->store->adopt(v.offset, v.id);
  // Adopted by that node's manager for us; our unpin goes there too.
  caf::anon_send(node_.store_manager, adopt_atom::value, v.offset, v.id, v.node);
  return true;
}

void client::release_local_pin(std::uint64_t offset) {
  release_local(offset, true);
}

void client::release_local(std::uint64_t offset, bool pin) {
  try {
    // Only a freed object the directory knows of is news to it (see
    // store_value): a sealed one above the inline size.
    store::freed_object freed;
    auto& store = *mapping_->store;
    bool gone = pin ? store.unpin(offset, &freed) : store.end_read(offset, &freed);
    if (gone && freed.sealed
        && freed.size > max_inline_bytes && control_store_)
      caf::anon_send(control_store_, object_atom::value,
                     object_location{freed.id, node_.node_id, offset, 0, false});
  } catch (const std::exception& e) {
    // Called from ref destructors: a bad offset is logged, never thrown.
    spdlog::error("cannot unpin the object at offset {}: {}", offset, e.what());
  }
}

void client::unpin_stored(std::uint64_t offset, std::uint64_t node) {
  if (node == 0 || node == node_.node_id)
    release_local_pin(offset);
  else if (node_.store_manager)
    caf::anon_send(node_.store_manager,
                   unpin_atom::value, offset, node);
}

node_list client::list_nodes() {
  using namespace std::chrono_literals;
  return ask<node_list>(*system_, control_store_, 10s,
                        "the control store did not list the nodes", nodes_atom::value);
}

raw_value client::view_stored(const stored_value& in) {
  auto& store = *mapping_->store;
  auto v = in;
  bool pinned = false;
  if (v.node != 0 && v.node != node_.node_id) {
    // In another node's store: this node's manager pulls a copy (pinned
    // once for us) and we read that.
    using namespace std::chrono_literals;
    auto local = try_ask<std::uint64_t>(*system_, node_.store_manager, 600s, pull_atom::value,
                                        pull_request{v.id, v.node, v.offset});
    if (!local)
      throw lost_value("object " + v.id.to_string() + " (" + std::to_string(v.size)
                       + " bytes in node " + std::to_string(v.node)
                       + "'s store) cannot be fetched: " + system_->render(local.error()),
                       v.id);
    v.offset = *local;
    v.node = node_.node_id;
    if (!store.adopt(v.offset, v.id)) // the manager handed its pin over
      throw lost_value("object " + v.id.to_string() + " was freed in this node's store "
                       + "before it could be read", v.id);
    pinned = true;
  }
  // A read holds the object as a pin does (the table's pin may go first).
  store::readable r;
  try {
    r = read_in_store(v.offset, v.size);
  } catch (...) {
    if (pinned)
      release_local_pin(v.offset);
    throw;
  }
  raw_value out;
  out.enc = static_cast<encoding>(r.enc);
  out.type_hash = r.type_hash;
  out.type_name = r.type_name;
  out.data = r.data;
  out.size = r.size;
  out.keepalive = std::shared_ptr<const void>(
    r.data, [m = mapping_, off = v.offset, pinned](const void*) {
      // Through the client while it lives (the directory hears of a freed
      // object); a view kept past shutdown just lets go.
      auto* c = client::try_get();
      if (c == nullptr || c->mapping_ != m) {
        m->store->end_read(off);
        if (pinned)
          m->store->unpin(off);
        return;
      }
      c->release_local(off, false);
      if (pinned)
        c->release_local(off, true);
    });
  return out;
}

} // namespace troupe::detail
