#include "lib/core/object_table.hpp"

#include <algorithm>

namespace troupe::detail {

std::shared_ptr<object_table> ref_handle::table() const {
  if (!table_)
    return nullptr;
  if (auto t = shared_.lock())
    return t;
  // Not owned by a shared_ptr at all (tests): the table outlives its refs.
  if (!shared_.owner_before(std::weak_ptr<object_table>{})
      && !std::weak_ptr<object_table>{}.owner_before(shared_))
    return std::shared_ptr<object_table>(std::shared_ptr<object_table>{}, table_);
  return nullptr; // the table is gone (a ref kept past shutdown)
}

ref_handle::~ref_handle() {
  if (auto t = table())
    t->release(id_);
}

ref_ptr object_table::make_handle(const object_id& id, const caf::actor& owner) {
  return std::make_shared<ref_handle>(this, weak_from_this(), id, owner);
}

ref_ptr object_table::create_owned(const object_id& id, task_name name) {
  std::lock_guard guard{mtx_};
  auto& e = entries_[id];
  e.owned = true;
  e.handles = 1;
  e.task_name = std::move(name);
  return make_handle(id, self_);
}

ref_ptr object_table::create_ready(const object_id& id, stored_value value) {
  std::lock_guard guard{mtx_};
  auto& e = entries_[id];
  e.owned = true;
  e.handles = 1;
  e.st = status::ready;
  e.value = std::move(value);
  return make_handle(id, self_);
}

ref_ptr object_table::from_wire(const object_id& id, const caf::actor& owner) {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    auto& e = entries_[id];
    if (id.owner == owner_id_) {
      // One of ours that we no longer hold: it was never escaped, so its
      // value is gone.
      e.owned = true;
      e.st = status::failed;
      e.error = std::make_shared<const error_info>(error_info{
        error_kind::object_lost, "", "", "object " + id.to_string() + " was freed by its owner"});
    } else {
      e.owner = owner;
      register_new(id, e);
    }
    e.handles = 1;
  } else {
    ++it->second.handles;
  }
  return make_handle(id, id.owner == owner_id_ ? self_ : owner);
}

bool object_table::reset_lost(const object_id& id) {
  unpin_list unpins;
  {
    std::lock_guard guard{mtx_};
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.st != status::ready || !it->second.value.in_store)
      return false;
    auto& e = it->second;
    unpins.emplace_back(e.value.offset, e.value.node);
    e.st = status::pending;
    e.value = {};
    e.fetch_sent = false;
  }
  settle(unpins);
  return true;
}

object_reply object_table::reply_for(const object_id& id, bool* pending) {
  object_reply r;
  r.id = id;
  stored_value v;
  error_info e;
  *pending = false;
  switch (peek(id, &v, &e)) {
    case status::pending:
      *pending = true;
      break;
    case status::ready:
      r.value = v;
      if (v.inline_data)
        r.data = *v.inline_data;
      break;
    case status::failed:
      r.failed = true;
      r.error = e;
      break;
    case status::unknown:
      r.failed = true;
      r.error = {error_kind::object_lost, "", "",
                 "object " + id.to_string() + " is no longer held by its owner"};
  }
  return r;
}

caf::actor object_table::owner_of(const object_id& id) const {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  return it == entries_.end() || it->second.owned ? caf::actor{} : it->second.owner;
}

bool object_table::fulfill(const object_id& id, stored_value value) {
  unpin_list unpins;
  std::vector<std::function<void()>> wakers;
  bool known = false;
  bool notify = false;
  {
    std::lock_guard guard{mtx_};
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.st != status::pending) {
      if (value.in_store)
        unpins.emplace_back(value.offset, value.node);
    } else {
      known = true;
      it->second.st = status::ready;
      it->second.value = std::move(value);
      wakers.swap(it->second.wakers);
      erase_if_unused(it, unpins);
      notify = notify_now_locked();
    }
  }
  if (notify)
    wake_getters();
  wake(wakers);
  settle(unpins);
  return known;
}

bool object_table::fail(const object_id& id, error_info error) {
  unpin_list unpins;
  std::vector<std::function<void()>> wakers;
  bool known = false;
  bool notify = false;
  {
    std::lock_guard guard{mtx_};
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.st == status::pending) {
      known = true;
      it->second.st = status::failed;
      it->second.error = std::make_shared<const error_info>(std::move(error));
      wakers.swap(it->second.wakers);
      erase_if_unused(it, unpins);
      notify = notify_now_locked();
    }
  }
  if (notify)
    wake_getters();
  wake(wakers);
  return known;
}

bool object_table::when_ready(const object_id& id, std::function<void()> wake) {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.st != status::pending)
    return false;
  it->second.wakers.push_back(std::move(wake));
  return true;
}

object_table::wakeup_batch::wakeup_batch(object_table& table) : table_(table) {
  std::lock_guard guard{table_.mtx_};
  ++table_.batches_;
}

object_table::wakeup_batch::~wakeup_batch() {
  bool missed = false;
  {
    std::lock_guard guard{table_.mtx_};
    if (--table_.batches_ == 0)
      std::swap(missed, table_.batch_missed_);
  }
  if (missed)
    table_.wake_getters();
}

void object_table::wake_getters() {
  wakeups_.fetch_add(1, std::memory_order_relaxed);
  cv_.notify_all();
}

bool object_table::notify_now_locked() {
  if (batches_ == 0)
    return true;
  batch_missed_ = true;
  return false;
}

void object_table::wake(std::vector<std::function<void()>>& wakers) {
  for (auto& w : wakers)
    w();
}

void object_table::set_owner(std::uint64_t owner_id, const caf::actor& owner) {
  std::lock_guard guard{mtx_};
  for (auto& [id, e] : entries_)
    if (!e.owned && id.owner == owner_id && !e.owner)
      e.owner = owner;
}

std::vector<object_id>
object_table::fail_borrowed_from(const caf::actor_addr& owner,
                                 const error_info& error) {
  std::vector<object_id> failed;
  std::vector<std::function<void()>> wakers;
  bool notify = false;
  auto boxed = std::make_shared<const error_info>(error);
  {
    std::lock_guard guard{mtx_};
    for (auto& [id, e] : entries_) {
      if (!e.owned && e.st == status::pending && e.owner.address() == owner) {
        e.st = status::failed;
        e.error = boxed;
        failed.push_back(id);
        for (auto& w : e.wakers)
          wakers.push_back(std::move(w));
        e.wakers.clear();
      }
    }
    notify = !failed.empty() && notify_now_locked();
  }
  if (notify)
    wake_getters();
  wake(wakers);
  return failed;
}

void object_table::mark_escaped(const object_id& id) {
  std::lock_guard guard{mtx_};
  if (auto it = entries_.find(id); it != entries_.end() && it->second.owned)
    it->second.escaped = true;
}

void object_table::release(const object_id& id) {
  unpin_list unpins;
  {
    std::lock_guard guard{mtx_};
    auto it = entries_.find(id);
    if (it == entries_.end())
      return;
    if (it->second.handles > 0)
      --it->second.handles;
    erase_if_unused(it, unpins);
  }
  settle(unpins);
}

void object_table::erase_if_unused(
  std::unordered_map<object_id, entry>::iterator it,
  unpin_list& unpins) {
  auto& e = it->second;
  if (e.handles > 0 || e.escaped || !e.borrowers.empty()
      || (e.owned && e.st == status::pending))
    return;
  if (e.st == status::ready && e.value.in_store)
    unpins.emplace_back(e.value.offset, e.value.node);
  for (auto& r : e.nested)
    unpins.nested.push_back(std::move(r));
  // Sent under the lock, so the core actor sees it after the registration.
  if (!e.owned && e.registrations > 0 && unborrow_)
    unborrow_(it->first, e.owner, e.registrations);
  if (e.actor_lifetime && unreferenced_)
    unreferenced_(it->first);
  entries_.erase(it);
}

void object_table::settle(unpin_list& left) {
  for (auto [off, node] : left.pins)
    unpin_(off, node);
  left.pins.clear();
  left.nested.clear(); // may erase more entries: the lock is not held
}

object_table::status object_table::peek(const object_id& id, stored_value* value,
                                        error_info* error,
                                        std::string* task_name) {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end())
    return status::unknown;
  auto& e = it->second;
  if (value && e.st == status::ready)
    *value = e.value;
  if (error && e.st == status::failed)
    *error = *e.error;
  if (task_name)
    *task_name = e.task_name;
  return e.st;
}

object_table::status object_table::peek_pullable(const object_id& id, std::uint64_t node,
                                                 stored_value* pullable, bool* found) {
  std::lock_guard guard{mtx_};
  *found = false;
  auto it = entries_.find(id);
  if (it == entries_.end())
    return status::unknown;
  auto& e = it->second;
  if (e.st == status::ready && e.value.in_store && e.value.node != 0 && e.value.node != node) {
    *pullable = e.value;
    *found = true;
  }
  return e.st;
}

bool object_table::claim_fetch(const object_id& id, caf::actor* owner) {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.owned || it->second.fetch_sent
      || it->second.st != status::pending)
    return false;
  it->second.fetch_sent = true;
  *owner = it->second.owner;
  return true;
}

std::vector<object_row> object_table::object_rows(std::size_t limit,
                                                  const place_fn& place) const {
  std::lock_guard guard{mtx_};
  std::vector<object_row> out;
  for (auto& [id, e] : entries_) {
    if (out.size() == limit)
      break;
    const char* state = e.st == status::pending ? "pending"
                        : e.st == status::ready ? "ready"
                                                : "failed";
    auto size = e.value.in_store ? e.value.size
                                 : e.value.inline_data ? e.value.inline_data->size() : 0;
    out.push_back({id.to_string(), e.owned, state, size, e.value.in_store ? e.value.node : 0});
    if (place && e.value.in_store)
      place(e.value, out.back());
  }
  return out;
}

std::vector<object_id> object_table::pending_borrowed() const {
  std::lock_guard guard{mtx_};
  std::vector<object_id> out;
  for (auto& [id, e] : entries_)
    if (!e.owned && e.st == status::pending)
      out.push_back(id);
  return out;
}

raw_value object_table::to_raw(const stored_value& v) {
  if (v.in_store)
    return view_(v);
  raw_value r;
  r.enc = v.enc;
  r.type_hash = v.type_hash;
  r.data = v.inline_data ? reinterpret_cast<const std::byte*>(v.inline_data->data())
                         : nullptr;
  r.size = v.inline_data ? v.inline_data->size() : 0;
  // The keepalive owns a copy of the type name, so the view outlives the entry.
  struct holder {
    std::shared_ptr<const std::vector<char>> data;
    std::string type_name;
  };
  auto h = std::make_shared<holder>(holder{v.inline_data, v.type_name});
  r.type_name = h->type_name;
  r.keepalive = std::move(h);
  return r;
}

raw_value object_table::wait_value(const object_id& id, const deadline& until,
                                   const std::function<void()>& on_block) {
  std::unique_lock guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end())
    throw error(error_kind::object_lost, "object " + id.to_string()
                                           + " is not known to this process");
  if (it->second.st == status::pending && on_block) {
    guard.unlock();
    on_block();
    guard.lock();
  }
  for (;;) {
    it = entries_.find(id);
    if (it == entries_.end())
      throw error(error_kind::object_lost, "object " + id.to_string() + " was freed");
    if (it->second.st != status::pending)
      break;
    if (!until) {
      cv_.wait(guard);
    } else if (cv_.wait_until(guard, *until) == std::cv_status::timeout) {
      it = entries_.find(id);
      if (it != entries_.end() && it->second.st == status::pending) {
        auto& name = it->second.task_name.str();
        throw timeout_error("get timed out waiting for object " + id.to_string()
                            + (name.empty() ? "" : " (result of task " + name + ")"));
      }
    }
  }
  if (it->second.st == status::failed) {
    auto err = *it->second.error;
    guard.unlock();
    err.rethrow();
  }
  auto value = it->second.value;
  guard.unlock();
  return to_raw(value);
}

void object_table::wait_many(const std::vector<object_id>& ids, std::size_t num,
                             const deadline& until, std::vector<bool>& ready,
                             const std::function<void()>& on_block) {
  num = std::min(num, ids.size());
  ready.assign(ids.size(), false);
  std::unique_lock guard{mtx_};
  bool blocked = false;
  for (;;) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto it = entries_.find(ids[i]);
      ready[i] = it == entries_.end() || it->second.st != status::pending;
      n += ready[i] ? 1 : 0;
    }
    if (n >= num)
      return;
    if (!blocked && on_block) {
      blocked = true;
      guard.unlock();
      on_block();
      guard.lock();
      continue;
    }
    bool timed_out = false;
    if (!until)
      cv_.wait(guard);
    else
      timed_out = cv_.wait_until(guard, *until) == std::cv_status::timeout;
    if (timed_out) {
      for (std::size_t i = 0; i < ids.size(); ++i) {
        auto it = entries_.find(ids[i]);
        ready[i] = it == entries_.end() || it->second.st != status::pending;
      }
      return;
    }
  }
}

std::size_t object_table::size() const {
  std::lock_guard guard{mtx_};
  return entries_.size();
}

bool object_table::contains(const object_id& id) const {
  std::lock_guard guard{mtx_};
  return entries_.count(id) > 0;
}

} // namespace troupe::detail
