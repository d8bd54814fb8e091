#pragma once

// A key-value store actor: the service of samples/cluster/service_demo.sh.

#include <map>
#include <memory>
#include <string>

class kv_store {
public:
  /// Stores `value` under `key`; returns the number of keys.
  int put(std::string key, std::string value) {
    data_[std::move(key)] = std::move(value);
    return static_cast<int>(data_.size());
  }
  /// Returns the value under `key`, or "" if there is none.
  std::string get(std::string key) const {
    auto it = data_.find(key);
    return it == data_.end() ? std::string{} : it->second;
  }

private:
  std::map<std::string, std::string> data_;
};

inline std::unique_ptr<kv_store> make_kv_store() {
  return std::make_unique<kv_store>();
}
