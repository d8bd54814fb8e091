#include "troupe/errors.hpp"

#include <cstdio>

#include "lib/protocol/messages.hpp"
#include "troupe/codec.hpp"
#include "troupe/object_id.hpp"

namespace troupe {

const char* to_string(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::task_failed: return "task_failed";
    case error_kind::worker_crashed: return "worker_crashed";
    case error_kind::unknown_function: return "unknown_function";
    case error_kind::argument_type: return "argument_type";
    case error_kind::object_store_full: return "object_store_full";
    case error_kind::timeout: return "timeout";
    case error_kind::unschedulable: return "unschedulable";
    case error_kind::owner_died: return "owner_died";
    case error_kind::node_died: return "node_died";
    case error_kind::protocol: return "protocol";
    case error_kind::object_lost: return "object_lost";
    case error_kind::runtime: return "runtime";
    case error_kind::actor_died: return "actor_died";
    case error_kind::no_such_actor: return "no_such_actor";
    case error_kind::name_taken: return "name_taken";
    case error_kind::task_cancelled: return "task_cancelled";
    case error_kind::head_unavailable: return "head_unavailable";
    case error_kind::job_store_limit: return "job_store_limit";
  }
  return "unknown";
}

task_error::task_error(std::string task_name, std::string exception_type,
                       std::string message)
  : error(error_kind::task_failed,
          "task '" + task_name + "' threw " + exception_type
            + (message.empty() ? "" : ": " + message)),
    task_(std::move(task_name)), type_(std::move(exception_type)),
    msg_(std::move(message)) {
}

worker_crashed_error::worker_crashed_error(std::string task_name, std::string reason)
  : error(error_kind::worker_crashed,
          "the worker running task '" + task_name + "' crashed: " + reason),
    task_(std::move(task_name)), reason_(std::move(reason)) {
}

actor_died_error::actor_died_error(std::string actor_name, std::string reason)
  : error(error_kind::actor_died,
          "actor '" + actor_name + "' died: " + reason),
    actor_(std::move(actor_name)), reason_(std::move(reason)) {
}

bool actor_died_error::restarting() const noexcept {
  return reason_.find(detail::restarting_marker) != std::string::npos;
}

task_cancelled_error::task_cancelled_error(std::string task_name)
  : error(error_kind::task_cancelled, "task '" + task_name + "' was cancelled"),
    task_(std::move(task_name)) {
}

object_store_full::object_store_full(std::size_t requested, std::size_t capacity,
                                     std::size_t available)
  : error(error_kind::object_store_full,
          "object store full: " + std::to_string(requested)
            + " bytes requested, store holds " + std::to_string(capacity)
            + " bytes, " + std::to_string(available) + " free") {
}

std::string object_id::to_string() const {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%016llx:%llu",
                static_cast<unsigned long long>(owner),
                static_cast<unsigned long long>(seq));
  return buf;
}

error_info error_info::from(const troupe::error& e) {
  error_info out;
  out.kind = e.kind();
  if (auto* t = dynamic_cast<const task_error*>(&e)) {
    out.task_name = t->task_name();
    out.exception_type = t->exception_type();
    out.message = t->message();
  } else if (auto* w = dynamic_cast<const worker_crashed_error*>(&e)) {
    out.task_name = w->task_name();
    out.message = w->reason();
  } else if (auto* a = dynamic_cast<const actor_died_error*>(&e)) {
    out.task_name = a->actor_name();
    out.message = a->reason();
  } else {
    out.message = e.what();
  }
  return out;
}

void error_info::rethrow() const {
  auto where = task_name.empty() ? std::string{} : "task '" + task_name + "': ";
  switch (kind) {
    case error_kind::task_failed:
      throw task_error(task_name, exception_type, message);
    case error_kind::worker_crashed:
      throw worker_crashed_error(task_name, message);
    case error_kind::object_store_full:
      throw object_store_full(where + message);
    case error_kind::job_store_limit:
      throw job_store_limit_error(where + message);
    case error_kind::timeout:
      throw timeout_error(where + message);
    case error_kind::unschedulable:
      throw unschedulable_error(where + message);
    case error_kind::unknown_function:
      throw unknown_function_error(where + message);
    case error_kind::argument_type:
      throw argument_type_error(where + message);
    case error_kind::actor_died:
      throw actor_died_error(task_name, message);
    case error_kind::task_cancelled:
      throw task_cancelled_error(task_name);
    default:
      throw error(kind, where + message);
  }
}

namespace detail {

void throw_type_mismatch(std::string_view stored, std::string_view wanted) {
  throw argument_type_error("the object holds " + std::string{stored}
                            + ", but " + std::string{wanted} + " was asked for");
}

void throw_codec_error(std::string_view what, std::string_view type,
                       const std::string& why) {
  throw error(error_kind::protocol,
              std::string{what} + " " + std::string{type} + ": " + why);
}

} // namespace detail

} // namespace troupe
