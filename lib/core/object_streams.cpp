// The object table's streams: the consumer's side of streaming generators
// (object_table.hpp). Items are ordinary owned objects; the stream holds one
// handle of each until the consumer takes it.

#include <algorithm>
#include <limits>

#include <caf/send.hpp>

#include "lib/core/object_table.hpp"

namespace troupe::detail {

stream_handle::~stream_handle() {
  auto t = done_->table();
  if (!t)
    return;
  // Items the consumer never asked for go; a generator still running stops
  // at its next co_yield instead of filling a stream nobody reads.
  if (auto producer = t->close_stream(id()))
    caf::anon_send(producer, ack_atom::value, id(),
                   std::numeric_limits<std::uint64_t>::max());
}

object_id object_table::open_stream(std::uint32_t backpressure) {
  auto n = next_stream_.fetch_add(1, std::memory_order_relaxed);
  object_id id{owner_id_, stream_bit | (n << 32)};
  std::lock_guard guard{mtx_};
  streams_[id].backpressure = backpressure;
  return id;
}

bool object_table::push_item(const object_id& stream, std::uint64_t index,
                             stored_value value, const stream_actor& producer) {
  bool kept = false;
  bool notify = false;
  std::vector<std::function<void()>> wakers;
  {
    std::lock_guard guard{mtx_};
    auto sit = streams_.find(stream);
    if (sit != streams_.end() && index > sit->second.taken &&
        sit->second.items.count(index) == 0) {
      auto& s = sit->second;
      if (!s.producer)
        s.producer = producer;
      auto id = stream_item_id(stream, index);
      auto& e = entries_[id];
      e.owned = true;
      e.handles = 1; // the stream's, until the consumer takes it
      e.st = status::ready;
      e.value = std::move(value);
      if (auto done = entries_.find(stream); done != entries_.end())
        e.task_name = done->second.task_name;
      s.items.emplace(index, id);
      wakers.swap(s.wakers);
      kept = true;
      notify = notify_now_locked();
    }
  }
  if (kept) {
    if (notify)
      wake_getters();
    wake(wakers);
    return true;
  }
  // Dropped: nobody takes it, so its store copy goes at once.
  if (value.in_store)
    unpin_(value.offset, value.node);
  return false;
}

void object_table::end_stream(const object_id& stream, std::uint64_t count) {
  std::lock_guard guard{mtx_};
  if (auto sit = streams_.find(stream); sit != streams_.end())
    sit->second.total = count;
}

ref_ptr object_table::next_item(const object_id& id, const deadline& until, const ack_fn& ack,
                                const std::function<void()>& on_block) {
  std::unique_lock guard{mtx_};
  auto sit = streams_.find(id);
  if (sit == streams_.end())
    throw error(error_kind::object_lost, "stream " + id.to_string() + " was closed");
  auto& s = sit->second; // stays valid: no one else erases it (one consumer)
  // An item counts as consumed once it is returned here (as in Ray). The
  // producer hears of it every `backpressure / 2` items and before the
  // consumer waits: a producer held back never waits for a consumer that
  // waits for it.
  auto tell = [&] {
    s.acked = s.taken;
    auto producer = s.producer;
    guard.unlock();
    ack(producer, s.acked);
    guard.lock();
  };
  auto owes = [&](std::uint64_t every) {
    return s.backpressure > 0 && s.producer && s.taken - s.acked >= every;
  };
  bool blocked = false;
  bool timed_out = false;
  for (;;) {
    if (auto it = s.items.find(s.taken + 1); it != s.items.end()) {
      auto item = make_handle(it->second, self_); // the stream's handle passes on
      s.items.erase(it);
      ++s.taken;
      if (owes(std::max<std::uint64_t>(1, s.backpressure / 2)))
        tell();
      return item;
    }
    auto done = entries_.find(id);
    auto st = done == entries_.end() ? status::unknown : done->second.st;
    // Ended: after the items it announced (a crash announces none: those
    // that arrived are all there are).
    if (st != status::pending && s.taken >= s.total.value_or(s.taken)) {
      if (st == status::ready)
        return nullptr;
      auto err = st == status::failed ? *done->second.error
                                      : error_info{error_kind::object_lost, "", "",
                                                   "the stream's call is gone"};
      guard.unlock();
      err.rethrow();
    }
    if (timed_out)
      throw timeout_error("timed out waiting for item " + std::to_string(s.taken + 1) +
                          " of stream " + id.to_string());
    if (owes(1)) {
      tell();
      continue;
    }
    if (!blocked && on_block) {
      blocked = true;
      guard.unlock();
      on_block();
      guard.lock();
      continue;
    }
    if (!until)
      cv_.wait(guard);
    else
      timed_out = cv_.wait_until(guard, *until) == std::cv_status::timeout;
  }
}

bool object_table::when_next(const object_id& id, const std::function<void()>& wake,
                             const ack_fn& ack) {
  std::unique_lock guard{mtx_};
  auto sit = streams_.find(id);
  if (sit == streams_.end())
    return false; // closed: next_item throws at once
  auto& s = sit->second;
  if (s.items.count(s.taken + 1) > 0)
    return false;
  auto done = entries_.find(id);
  if (done == entries_.end())
    return false;
  if (done->second.st == status::pending)
    done->second.wakers.push_back(wake); // the generator's end
  else if (s.taken >= s.total.value_or(s.taken))
    return false;           // ended: next_item returns at once
  s.wakers.push_back(wake); // the next item
  // The consumer waits: as in next_item, the producer hears of every item
  // taken first.
  if (s.backpressure > 0 && s.producer && s.taken > s.acked) {
    s.acked = s.taken;
    auto producer = s.producer;
    guard.unlock();
    ack(producer, s.acked);
  }
  return true;
}

stream_actor object_table::close_stream(const object_id& id) {
  unpin_list unpins;
  stream_actor producer;
  {
    std::lock_guard guard{mtx_};
    auto sit = streams_.find(id);
    if (sit == streams_.end())
      return {};
    for (auto& [index, item] : sit->second.items) {
      auto it = entries_.find(item);
      if (it == entries_.end())
        continue;
      if (it->second.handles > 0)
        --it->second.handles;
      erase_if_unused(it, unpins);
    }
    auto done = entries_.find(id);
    if (done != entries_.end() && done->second.st == status::pending)
      producer = sit->second.producer;
    streams_.erase(sit);
  }
  settle(unpins);
  return producer;
}

} // namespace troupe::detail
