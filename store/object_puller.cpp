#include "store/object_puller.hpp"

#include <algorithm>
#include <cstring>

#include "troupe/errors.hpp"

namespace troupe::store {

object_puller::object_puller(object_store& store, std::uint64_t chunk_bytes,
                             std::uint32_t in_flight)
  : store_(store), chunk_bytes_(chunk_bytes), in_flight_(in_flight) {
}

std::optional<std::uint64_t> object_puller::want(const remote_object& obj,
                                                 std::uint64_t waiter, bool* start) {
  *start = false;
  if (auto c = copies_.find(obj.id); c != copies_.end()) {
    store_.pin(c->second);
    lru_.remove(obj.id);
    lru_.push_back(obj.id);
    return c->second;
  }
  auto [it, fresh] = transfers_.try_emplace(obj.id);
  if (fresh)
    it->second.obj = obj;
  it->second.waiters.push_back(waiter);
  *start = fresh;
  return std::nullopt;
}

bool object_puller::evict_one() {
  auto victim = std::find_if(lru_.begin(), lru_.end(), [&](const troupe::object_id& id) {
    return store_.pins(copies_.at(id)) == 1;
  });
  if (victim == lru_.end())
    return false;
  store_.unpin(copies_.at(*victim));
  evicted_.push_back(*victim);
  copies_.erase(*victim);
  lru_.erase(victim);
  return true;
}

std::vector<object_puller::chunk> object_puller::on_meta(const troupe::object_id& id,
                                                         const remote_meta& meta,
                                                         completed* done,
                                                         std::uint64_t chunk_bytes,
                                                         std::uint32_t in_flight) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.created)
    return {};
  auto& t = it->second;
  t.meta = meta;
  t.chunk_bytes = chunk_bytes != 0 ? chunk_bytes : chunk_bytes_;
  t.window = in_flight != 0 ? in_flight : in_flight_;
  for (;;) {
    try {
      if (!store_.fits_in_memory(meta.size)) // a file of its own
        t.local = store_.create_on_disk(id, meta.size, meta.type_hash, meta.type_name,
                                        meta.enc);
      else
        t.local = store_.create(id, meta.size, meta.type_hash, meta.type_name, meta.enc);
      break;
    } catch (const troupe::object_store_full&) {
      if (!evict_one())
        throw;
    }
  }
  t.created = true;
  if (meta.size == 0) {
    finish(it, done);
    return {};
  }
  return next_chunks(t);
}

std::vector<object_puller::chunk> object_puller::next_chunks(transfer_state& t) {
  std::vector<chunk> out;
  while (t.in_flight < t.window && t.next < t.meta.size) {
    auto length = std::min(t.chunk_bytes, t.meta.size - t.next);
    out.push_back({t.obj.id, t.next, length, t.generation});
    t.next += length;
    ++t.in_flight;
  }
  return out;
}

std::map<troupe::object_id, object_puller::transfer_state>::iterator
object_puller::live_transfer(const chunk& answered) {
  auto it = transfers_.find(answered.id);
  if (it != transfers_.end()
      && (!it->second.created || it->second.generation != answered.generation))
    return transfers_.end();
  return it;
}

std::vector<object_puller::chunk> object_puller::on_chunk(const chunk& answered,
                                                          const char* bytes,
                                                          std::size_t size,
                                                          completed* done) {
  auto it = live_transfer(answered);
  if (it == transfers_.end())
    return {};
  auto& t = it->second;
  auto start = answered.start;
  std::uint64_t n = 0;
  if (start < t.meta.size) {
    n = std::min<std::uint64_t>(size, t.meta.size - start);
    std::memcpy(t.local.data + start, bytes, n);
  }
  return received(it, n, done);
}

std::vector<object_puller::chunk> object_puller::on_written(const chunk& answered,
                                                            completed* done) {
  auto it = live_transfer(answered);
  if (it == transfers_.end())
    return {};
  auto& t = it->second;
  auto n = answered.start < t.meta.size
             ? std::min(answered.length, t.meta.size - answered.start)
             : 0;
  return received(it, n, done);
}

std::vector<object_puller::chunk>
object_puller::received(std::map<troupe::object_id, transfer_state>::iterator it,
                        std::uint64_t n, completed* done) {
  auto& t = it->second;
  t.received += n;
  if (t.in_flight > 0)
    --t.in_flight;
  if (t.received < t.meta.size)
    return next_chunks(t);
  finish(it, done);
  return {};
}

bool object_puller::current(const chunk& c) const {
  auto it = transfers_.find(c.id);
  return it != transfers_.end() && it->second.created
         && it->second.generation == c.generation;
}

const writable* object_puller::copy(const troupe::object_id& id) const {
  auto it = transfers_.find(id);
  return it == transfers_.end() || !it->second.created ? nullptr : &it->second.local;
}

void object_puller::finish(std::map<troupe::object_id, transfer_state>::iterator it,
                           completed* done) {
  auto& t = it->second;
  auto id = it->first;
  store_.seal(t.local.offset);
  copies_[id] = t.local.offset; // the creator's pin is the copy's
  lru_.push_back(id);
  done->done = true;
  done->offset = t.local.offset;
  done->source = t.obj;
  done->waiters = std::move(t.waiters);
  for (std::size_t i = 0; i < done->waiters.size(); ++i)
    store_.pin(t.local.offset);
  transfers_.erase(it);
}

bool object_puller::restart(const troupe::object_id& id, const remote_object& from) {
  auto it = transfers_.find(id);
  if (it == transfers_.end())
    return false;
  auto& t = it->second;
  if (t.created)
    store_.unpin(t.local.offset);
  auto waiters = std::move(t.waiters);
  auto generation = t.generation + 1;
  t = transfer_state{};
  t.obj = from;
  t.waiters = std::move(waiters);
  t.generation = generation;
  return true;
}

std::vector<std::uint64_t> object_puller::fail(const troupe::object_id& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end())
    return {};
  if (it->second.created)
    store_.unpin(it->second.local.offset); // frees the unsealed copy
  auto waiters = std::move(it->second.waiters);
  transfers_.erase(it);
  return waiters;
}

std::vector<troupe::object_id> object_puller::pulling_from(std::uint64_t node) const {
  std::vector<troupe::object_id> out;
  for (auto& [id, t] : transfers_)
    if (t.obj.node == node)
      out.push_back(id);
  return out;
}

const remote_object* object_puller::transfer(const troupe::object_id& id) const {
  auto it = transfers_.find(id);
  return it == transfers_.end() ? nullptr : &it->second.obj;
}

} // namespace troupe::store
