#include "replica.hpp"

#include <stdexcept>
#include <unistd.h>

namespace troupe::serve::detail {

namespace {

using troupe::detail::codec;
using troupe::detail::raw_value;

raw_value view(const troupe::detail::encoded_value& v) {
  return raw_value{v.enc, v.type_hash, v.type_name, v.data(), v.size(), nullptr};
}

bool takes_json(const troupe::detail::function_entry& e) {
  return e.params.size() == 1 && e.params[0].hash == codec<json>::type_hash;
}

} // namespace

replica::replica(const std::string& factory, const std::string& method,
                 const std::string& init_args) {
  using troupe::detail::entry_kind;
  auto* f = troupe::detail::find_function(factory);
  if (!f || f->kind != entry_kind::factory || !takes_json(*f))
    throw std::invalid_argument("troupe::serve: \"" + factory
                                + "\" is no registered factory taking serve::json");
  method_ = troupe::detail::find_function(method);
  if (!method_ || method_->kind != entry_kind::method || !takes_json(*method_)
      || method_->result.hash != codec<json>::type_hash || method_->coroutine)
    throw std::invalid_argument("troupe::serve: \"" + method
                                + "\" is no registered method from serve::json to serve::json");
  auto args = troupe::detail::encode(json::parse(init_args));
  auto raw = view(args);
  instance_ = f->create(*f, &raw, 1);
}

json replica::handle(json request) {
  auto arg = troupe::detail::encode(request);
  auto raw = view(arg);
  troupe::detail::call_output out;
  method_->call(*method_, instance_.get(), &raw, 1, out);
  return codec<json>::decode(view(out.value));
}

std::int64_t replica::pid() const {
  return ::getpid();
}

std::unique_ptr<replica> make_replica(std::string factory, std::string method,
                                      std::string init_args) {
  return std::make_unique<replica>(factory, method, init_args);
}

TROUPE_REMOTE_AS("troupe::serve::replica", make_replica);
TROUPE_REMOTE_AS("troupe::serve::replica::ready", &replica::ready);
TROUPE_REMOTE_AS("troupe::serve::replica::handle", &replica::handle);
TROUPE_REMOTE_AS("troupe::serve::replica::pid", &replica::pid);

} // namespace troupe::serve::detail
