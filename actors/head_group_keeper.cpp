// The cluster scheduler's placement groups in the head's records.
#include <algorithm>

#include "actors/head_records.hpp"

namespace troupe {

namespace {

class records_group_keeper : public sched::group_keeper {
public:
  records_group_keeper(std::shared_ptr<head_records> records, std::uint64_t head_node)
    : records_(std::move(records)), head_node_(head_node) {}

  void save(const group_spec& spec, const group_state& state,
            std::uint64_t next_group) override {
    records_->group(spec, state);
    records_->group_counter(next_group);
    records_->flush();
  }

  void erase(std::uint64_t id) override {
    records_->erase_group(id);
    records_->flush();
  }

  restored load() override {
    auto r = records_->load_groups();
    std::erase(r.nodes, head_node_);
    return r;
  }

private:
  std::shared_ptr<head_records> records_;
  std::uint64_t head_node_;
};

} // namespace

std::shared_ptr<sched::group_keeper> make_group_keeper(std::shared_ptr<head_records> records,
                                                       std::uint64_t head_node) {
  return std::make_shared<records_group_keeper>(std::move(records), head_node);
}

} // namespace troupe
