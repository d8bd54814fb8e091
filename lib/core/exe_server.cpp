// Serving this process's executable to nodes that lack it (exe_server.hpp).
#include "lib/core/exe_server.hpp"

#include <cstdio>
#include <memory>
#include <sys/stat.h>

namespace troupe::detail {

/// Returns the size of this process's executable (a node fetches it).
caf::result<std::uint64_t> exe_size() {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0)
    return caf::make_error(caf::sec::runtime_error, "cannot stat /proc/self/exe");
  return static_cast<std::uint64_t>(st.st_size);
}

/// Returns `len` bytes of this process's executable from `start`.
caf::result<std::vector<char>> exe_chunk(std::uint64_t start, std::uint64_t len) {
  std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen("/proc/self/exe", "rb"), &std::fclose};
  std::vector<char> out(len);
  if (!f || std::fseek(f.get(), static_cast<long>(start), SEEK_SET) != 0)
    return caf::make_error(caf::sec::runtime_error, "cannot read /proc/self/exe");
  out.resize(std::fread(out.data(), 1, len, f.get()));
  return out;
}

} // namespace troupe::detail
