#include "troupe/detail/value_format.hpp"

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>

namespace troupe::detail {

caf::execution_unit* value_format_context(caf::actor_system* sys) {
  return sys != nullptr ? sys->dummy_execution_unit() : nullptr;
}

caf::error value_deserializer::begin_sequence(std::size_t& n) {
  if (auto err = inner_.begin_sequence(n))
    return err;
  if (n > unchecked_elements && n > inner_.remaining())
    return caf::make_error(caf::sec::end_of_stream,
                           "a sequence claims " + std::to_string(n) + " elements in "
                             + std::to_string(inner_.remaining()) + " bytes");
  return caf::none;
}

} // namespace troupe::detail
