// A function trainable's trial: an actor that runs the user's generator in
// its own process, one `co_yield` (one report) per `step` call, so that the
// search drives function and class trainables alike.
#include <optional>
#include <string>

#include "troupe/tune.hpp"

namespace troupe::tune::detail {

namespace {

using trainable_fn = generator<metrics> (*)(config);

class function_trial {
public:
  function_trial(const std::string& name, config c) {
    auto* e = troupe::detail::find_function(name);
    if (!e || e->kind != troupe::detail::entry_kind::function
        || e->params.size() != 1
        || e->params[0].hash != troupe::detail::type_of<config>().hash
        || e->result.hash != troupe::detail::type_of<generator<metrics>>().hash)
      throw std::invalid_argument("troupe::tune: \"" + name
                                  + "\" is no registered troupe::generator<tune::metrics> "
                                    "(tune::config) here");
    gen_.emplace(reinterpret_cast<trainable_fn>(const_cast<void*>(e->fn))(std::move(c)));
  }

  /// Runs the trainable to its next report; {"done": 1} once it returned.
  metrics step() {
    auto h = gen_->handle();
    if (!h.done())
      h.resume();
    if (h.done()) {
      gen_->rethrow_if_failed();
      return {{"done", 1}};
    }
    if (!gen_->has_item())
      throw std::logic_error("troupe::tune: the trainable suspended without a report");
    return gen_->take_item();
  }

private:
  std::optional<generator<metrics>> gen_;
};

std::unique_ptr<function_trial> make_function_trial(std::string name, config c) {
  return std::make_unique<function_trial>(name, std::move(c));
}

class function_trial_handle final : public trial_handle {
public:
  explicit function_trial_handle(actor_handle<function_trial> a) : a_(std::move(a)) {}
  object_ref<metrics> step() override { return a_.task(&function_trial::step).remote(); }
  void stop() override { troupe::kill(a_); }

private:
  actor_handle<function_trial> a_;
};

} // namespace

TROUPE_REMOTE_AS("troupe::tune::function_trial", make_function_trial);
TROUPE_REMOTE_AS("troupe::tune::function_trial::step", &function_trial::step);

trial_maker function_trials(const std::string& name, const actor_options& resources) {
  return [name, resources](const config& c) -> std::unique_ptr<trial_handle> {
    return std::make_unique<function_trial_handle>(
      troupe::actor(make_function_trial, resources).remote(name, c));
  };
}

} // namespace troupe::tune::detail

namespace troupe::tune {

result_table run(generator<metrics> (*trainable)(config), const search_space& space,
                 const run_options& options) {
  auto* e = troupe::detail::find_function(reinterpret_cast<const void*>(trainable));
  if (!e)
    troupe::detail::throw_unregistered(reinterpret_cast<const void*>(trainable));
  return detail::run_trials(detail::function_trials(e->name, options.resources_per_trial),
                            space, options);
}

} // namespace troupe::tune
