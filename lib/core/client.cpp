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
               bool embedded, bool log_to_driver)
  : role_(role), exe_(job_exe()), owner_id_(random_owner_id()), log_to_driver_(log_to_driver) {
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
  if (role_ == process_role::worker)
    result_outbox_ = spawn_result_outbox(*system_);
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
    spec.log_to_driver = log_to_driver_;
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
  if (result_outbox_)
    caf::anon_send_exit(result_outbox_, caf::exit_reason::user_shutdown);
  result_outbox_ = nullptr;
  light_actors_.clear();
  control_store_ = nullptr;
  node_.scheduler = nullptr;
  node_.store_manager = nullptr;
  transport_.reset();
  system_.reset();
  config_.reset();
}

ref_ptr client::submit(const function_entry& fn, std::vector<task_arg>&& args,
                       task_name name, placement where,
                       const std::function<void(task_record&)>& adjust) {
  task_record t;
  t.task_id = next_task_.fetch_add(1, std::memory_order_relaxed);
  t.fn = &fn;
  t.name = name.empty() ? call_name({}, fn) : std::move(name);
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

node_list client::list_nodes() {
  using namespace std::chrono_literals;
  return ask<node_list>(*system_, control_store_, 10s,
                        "the control store did not list the nodes", nodes_atom::value);
}

} // namespace troupe::detail
