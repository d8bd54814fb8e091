#include "actors/node_logs.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe {

namespace {

namespace fs = std::filesystem;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Names a file by what it holds: `worker-ID-PID.out`, `job-ID.out`,
/// `node.log`; false when it is not a log file.
bool describe(const std::string& name, log_file& f) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos)
    return false;
  auto stem = std::string_view{name}.substr(0, dot);
  auto ext = std::string_view{name}.substr(dot + 1);
  // Rotated spdlog files: node.1.log, worker-3-99.2.log.
  if (ext == "log") {
    auto inner = stem.rfind('.');
    if (inner != std::string_view::npos && all_digits(stem.substr(inner + 1)))
      stem = stem.substr(0, inner);
  } else if (ext != "out" && ext != "err") {
    return false;
  }
  f.name = name;
  f.stream = std::string{ext};
  if (stem == "node") {
    f.kind = "node";
  } else if (stem.rfind("worker-", 0) == 0) {
    auto rest = stem.substr(7);
    auto dash = rest.find('-');
    if (dash == std::string_view::npos || !all_digits(rest.substr(0, dash))
        || !all_digits(rest.substr(dash + 1)))
      return false;
    f.kind = "worker";
    f.worker = std::stoull(std::string{rest.substr(0, dash)});
    f.pid = static_cast<std::int32_t>(std::stol(std::string{rest.substr(dash + 1)}));
  } else if (stem.rfind("job-", 0) == 0 && all_digits(stem.substr(4))) {
    f.kind = "job";
    f.job = std::stoull(std::string{stem.substr(4)});
  } else {
    f.kind = "other";
  }
  return true;
}

} // namespace

std::vector<log_file> list_log_files(const std::string& dir) {
  std::vector<log_file> files;
  if (dir.empty())
    return files;
  std::error_code ec;
  for (auto it = fs::directory_iterator{dir, ec}; !ec && it != fs::directory_iterator{};
       it.increment(ec)) {
    if (!it->is_regular_file(ec))
      continue;
    log_file f;
    if (!describe(it->path().filename().string(), f))
      continue;
    f.size = it->file_size(ec);
    auto mtime = it->last_write_time(ec);
    if (!ec) {
      auto sys = std::chrono::file_clock::to_sys(mtime);
      f.modified = std::chrono::duration<double>(sys.time_since_epoch()).count();
    }
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const log_file& a, const log_file& b) { return a.name < b.name; });
  return files;
}

std::string log_files_json(std::uint64_t node_id, const std::vector<log_file>& files) {
  nlohmann::ordered_json doc;
  doc["node"] = node_id;
  auto& list = doc["files"] = nlohmann::ordered_json::array();
  for (auto& f : files)
    list.push_back({{"name", f.name},     {"size", f.size},     {"kind", f.kind},
                    {"worker", f.worker}, {"pid", f.pid},       {"job", f.job},
                    {"stream", f.stream}, {"modified", f.modified}});
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<log_file> log_files_from_json(const std::string& text, std::uint64_t& node_id) {
  auto doc = nlohmann::json::parse(text);
  node_id = doc.at("node").get<std::uint64_t>();
  std::vector<log_file> files;
  for (auto& j : doc.at("files")) {
    log_file f;
    f.name = j.at("name").get<std::string>();
    f.size = j.value("size", std::uint64_t{0});
    f.kind = j.value("kind", std::string{});
    f.worker = j.value("worker", std::uint64_t{0});
    f.pid = j.value("pid", std::int32_t{0});
    f.job = j.value("job", std::uint64_t{0});
    f.stream = j.value("stream", std::string{});
    f.modified = j.value("modified", 0.0);
    files.push_back(std::move(f));
  }
  return files;
}

std::string read_log_file(const std::string& dir, const std::string& name,
                          std::uint64_t offset, std::uint64_t max) {
  log_file f;
  if (dir.empty() || name.find('/') != std::string::npos || name.empty() || name[0] == '.'
      || !describe(name, f))
    throw std::invalid_argument("no log file '" + name + "' on this node");
  std::ifstream in{dir + "/" + name, std::ios::binary};
  if (!in)
    throw std::invalid_argument("no log file '" + name + "' on this node");
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::uint64_t>(in.tellg());
  if (offset >= size)
    return {};
  auto n = std::min({max, max_log_read, size - offset});
  std::string bytes(static_cast<std::size_t>(n), '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

} // namespace troupe
