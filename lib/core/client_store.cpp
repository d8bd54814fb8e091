// The client's side of its node's object store: values put into it (counted
// for the job the calling thread works for), read from it (pulled from
// another node's store first when they live there), and the pins this
// process holds in it or, through their managers, in other nodes' stores.
#include "lib/core/client.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/common/ask.hpp"
#include "lib/core/cancellation.hpp"
#include "lib/protocol/handles.hpp"
#include "troupe/errors.hpp"

namespace troupe::detail {

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
      // would when it is full; what is read stays, and the put fails. Room
      // for its header and metadata (the type's name in them) too.
      using namespace std::chrono_literals;
      auto room = v.size() + store::object_store::header_size + v.type_name.size() + 512;
      auto freed = try_ask<std::uint64_t>(*system_, node_.store_manager, 60s, evict_atom::value,
                                          static_cast<std::uint64_t>(room), job);
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

raw_value client::view_stored(const stored_value& in) {
  if (in.node == 0 || in.node == node_.node_id)
    return view_local(in, false);
  // In another node's store: this node's manager pulls a copy (pinned once
  // for us) and we read that.
  using namespace std::chrono_literals;
  auto local = try_ask<std::uint64_t>(*system_, node_.store_manager, 600s, pull_atom::value,
                                      pull_request{in.id, in.node, in.offset});
  if (!local)
    throw lost_value("object " + in.id.to_string() + " (" + std::to_string(in.size)
                     + " bytes in node " + std::to_string(in.node)
                     + "'s store) cannot be fetched: " + system_->render(local.error()),
                     in.id);
  if (!mapping_->store->adopt(*local, in.id)) // the manager handed its pin over
    throw lost_value("object " + in.id.to_string() + " was freed in this node's store "
                     + "before it could be read", in.id);
  return view_pulled(in, *local);
}

raw_value client::view_pulled(const stored_value& in, std::uint64_t local) {
  auto v = in;
  v.offset = local;
  v.node = node_.node_id;
  return view_local(v, true);
}

raw_value client::view_local(const stored_value& v, bool pinned) {
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
