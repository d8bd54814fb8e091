#include "troupe/pool.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "troupe/cancel.hpp"
#include "troupe/get.hpp"
#include "troupe/runtime.hpp"
#include "troupe/scheduling.hpp"

namespace troupe {

namespace {

std::string item_what(std::size_t index, const std::string& fn, const std::string& type,
                      const std::string& message) {
  return "troupe::pool: item " + std::to_string(index) + ": " + fn + " threw " + type
         + (message.empty() ? "" : ": " + message);
}

} // namespace

pool_item_error::pool_item_error(std::size_t index, std::string function,
                                 std::string exception_type, std::string message)
    : task_error(std::move(function), std::move(exception_type), std::move(message))
    , index_(index) {
  what_ = item_what(index_, task_name(), this->exception_type(), this->message());
}

const char* pool_item_error::what() const noexcept {
  return what_.c_str();
}

namespace detail {

namespace {

/// Returns the demangled type of the exception being handled.
std::string current_exception_type() {
  auto* t = abi::__cxa_current_exception_type();
  if (!t)
    return "unknown";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out{
    abi::__cxa_demangle(t->name(), nullptr, nullptr, &status), std::free};
  return status == 0 && out ? out.get() : t->name();
}

const function_entry& chunk_function(const std::string& name) {
  auto* fn = find_function(name);
  if (!fn || fn->kind != entry_kind::function || !fn->invoke)
    throw unknown_function_error("troupe::pool: no function is registered as \"" + name
                                 + "\" in this worker");
  return *fn;
}

} // namespace

pool_chunk_result run_pool_chunk(pool_chunk chunk) {
  auto& fn = chunk_function(chunk.function);
  if (chunk.arity != fn.params.size() || chunk.encodings.size() != chunk.arity
      || chunk.args.size() % std::max<std::uint32_t>(1, chunk.arity) != 0)
    throw argument_type_error("troupe::pool: a chunk of " + chunk.function
                              + " does not match its parameters");
  pool_chunk_result out;
  out.first = chunk.first;
  auto items = chunk.arity == 0 ? 0 : chunk.args.size() / chunk.arity;
  out.values.reserve(items);
  std::vector<raw_value> args(chunk.arity);
  for (std::size_t i = 0; i < items && !troupe::is_cancelled(); ++i) {
    for (std::uint32_t j = 0; j < chunk.arity; ++j) {
      auto& bytes = chunk.args[i * chunk.arity + j];
      args[j] = raw_value{static_cast<encoding>(chunk.encodings[j]), fn.params[j].hash,
                          fn.params[j].name, reinterpret_cast<const std::byte*>(bytes.data()),
                          bytes.size(), nullptr};
    }
    call_output result;
    try {
      fn.invoke(fn.fn, args.data(), args.size(), result);
    } catch (const std::exception& e) {
      out.failed = true;
      out.failed_index = chunk.first + i;
      out.exception_type = current_exception_type();
      out.message = e.what();
      return out;
    } catch (...) {
      out.failed = true;
      out.failed_index = chunk.first + i;
      out.exception_type = current_exception_type();
      return out;
    }
    for (auto& r : result.value.nested)
      ref_escaped(r); // its bytes travel on in the chunk's result
    auto* p = reinterpret_cast<const char*>(result.value.data());
    out.values.emplace_back(p, p + result.value.size());
  }
  return out;
}

TROUPE_REMOTE_AS("troupe::pool::chunk", run_pool_chunk);

struct pool_run::state {
  std::deque<pool_chunk> unsent;
  std::size_t window;
  task_options options;
  bool ordered;
  std::uint64_t next_first = 0; ///< ordered: the first item of the chunk due next
  std::vector<object_ref<pool_chunk_result>> running;
  std::map<std::uint64_t, pool_chunk_result> done; ///< ordered: arrived early

  /// Submits chunks until `window` run.
  void fill() {
    while (!unsent.empty() && running.size() < window) {
      auto& c = unsent.front();
      auto o = options;
      o.name = c.function + " (pool items " + std::to_string(c.first) + "..)";
      running.push_back(troupe::task(run_pool_chunk, o).remote(std::move(c)));
      unsent.pop_front();
    }
  }

  /// Waits for one running chunk and takes its result.
  pool_chunk_result take_one() {
    auto w = troupe::wait(running, 1);
    auto ready = std::move(w.ready.front());
    running = std::move(w.not_ready);
    fill();
    auto r = troupe::get(ready);
    if (r.failed) {
      cancel_running();
      throw pool_item_error(r.failed_index, function, r.exception_type, r.message);
    }
    return r;
  }

  void cancel_running() noexcept {
    for (auto& r : running) {
      try {
        troupe::cancel(r);
      } catch (...) { // a finished chunk, or a cluster already gone
      }
    }
    running.clear();
    unsent.clear();
  }

  std::string function;
};

pool_run::pool_run(std::deque<pool_chunk> chunks, std::size_t window, task_options options,
                   bool ordered)
    : s_(std::make_unique<state>()) {
  s_->function = chunks.empty() ? "" : chunks.front().function;
  s_->unsent = std::move(chunks);
  s_->window = std::max<std::size_t>(1, window);
  s_->options = std::move(options);
  s_->ordered = ordered;
  s_->fill();
}

pool_run::pool_run(pool_run&&) noexcept = default;
pool_run& pool_run::operator=(pool_run&&) noexcept = default;

pool_run::~pool_run() {
  if (s_ && troupe::is_initialized())
    s_->cancel_running();
}

std::optional<pool_chunk_result> pool_run::next() {
  auto& s = *s_;
  if (!s.ordered) {
    if (s.running.empty())
      return std::nullopt;
    return s.take_one();
  }
  for (;;) {
    if (auto it = s.done.find(s.next_first); it != s.done.end()) {
      auto r = std::move(it->second);
      s.done.erase(it);
      s.next_first += r.values.size();
      return r;
    }
    if (s.running.empty())
      return std::nullopt;
    auto r = s.take_one();
    s.done.emplace(r.first, std::move(r));
  }
}

std::size_t auto_chunksize(std::size_t items, std::size_t processes) {
  auto chunks = std::max<std::size_t>(1, processes) * 4;
  return std::max<std::size_t>(1, (items + chunks - 1) / chunks);
}

std::size_t cluster_cpus() {
  auto all = troupe::cluster_resources();
  auto it = all.find("CPU");
  return std::max<std::size_t>(1, it == all.end() ? 0 : static_cast<std::size_t>(it->second));
}

const std::string& registered_name(const void* fn) {
  auto* e = find_function(fn);
  if (!e)
    throw_unregistered(fn);
  return e->name;
}

} // namespace detail

pool::pool(const pool_options& options)
    : options_(options)
    , processes_(options.processes > 0 ? options.processes : detail::cluster_cpus()) {}

} // namespace troupe
