// Serving this process's executable to nodes that lack it (exe_server.hpp).
#include "lib/core/exe_server.hpp"

#include <cstdio>
#include <memory>
#include <sys/stat.h>

namespace troupe::detail {

/// Returns the size of this process's executable (a node fetches it).
caf::result<std::uint64_t> exe_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return caf::make_error(caf::sec::runtime_error, "cannot stat " + path);
  return static_cast<std::uint64_t>(st.st_size);
}

/// Returns `len` bytes of this process's executable from `start`.
caf::result<std::vector<char>> exe_chunk(std::uint64_t start, std::uint64_t len,
                                         const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(path.c_str(), "rb"), &std::fclose};
  std::vector<char> out(len);
  if (!f || std::fseek(f.get(), static_cast<long>(start), SEEK_SET) != 0)
    return caf::make_error(caf::sec::runtime_error, "cannot read " + path);
  out.resize(std::fread(out.data(), 1, len, f.get()));
  return out;
}

exe_source_actor spawn_file_server(caf::actor_system& sys, std::string path,
                                   std::shared_ptr<std::atomic<std::uint64_t>> sent) {
  return sys.spawn([path = std::move(path), sent]() -> exe_source_actor::behavior_type {
    return {
      [path](exe_atom) { return exe_size(path); },
      [path, sent](exe_atom, std::uint64_t start, std::uint64_t len) {
        auto r = exe_chunk(start, len, path);
        sent->fetch_add(len);
        return r;
      },
    };
  });
}

} // namespace troupe::detail
