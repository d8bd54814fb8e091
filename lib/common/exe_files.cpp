#include "lib/common/exe_files.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/common/process.hpp"
#include "troupe/errors.hpp"

namespace troupe::detail {

std::string file_sha256(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw error(error_kind::runtime, "cannot read " + path + " to hash it");
  using key = std::tuple<std::string, off_t, std::int64_t, std::int64_t>;
  static std::mutex mtx;
  static std::map<key, std::string> known;
  key k{path, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  {
    std::lock_guard guard{mtx};
    if (auto it = known.find(k); it != known.end())
      return it->second;
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(path.c_str(), "rb"), &std::fclose};
  if (!f)
    throw error(error_kind::runtime, "cannot open " + path + " to hash it");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0;)
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  std::lock_guard guard{mtx};
  known[k] = out;
  return out;
}

bool file_has_hash(const std::string& path, const std::string& hash) {
  try {
    return std::filesystem::is_regular_file(path) && file_sha256(path) == hash;
  } catch (const std::exception&) {
    return false;
  }
}

std::string job_exe() {
  if (auto* e = std::getenv("TROUPE_JOB_EXE"); e && *e)
    return e;
  auto exe = self_exe();
  const std::string deleted = " (deleted)";
  if (exe.size() > deleted.size()
      && exe.compare(exe.size() - deleted.size(), deleted.size(), deleted) == 0)
    exe.resize(exe.size() - deleted.size());
  return exe;
}

std::filesystem::path exe_cache_dir() {
  if (auto* e = std::getenv("TROUPE_EXE_CACHE"); e && *e)
    return e;
  if (auto* e = std::getenv("XDG_CACHE_HOME"); e && *e)
    return std::filesystem::path{e} / "troupe" / "exe";
  if (auto* e = std::getenv("HOME"); e && *e)
    return std::filesystem::path{e} / ".cache" / "troupe" / "exe";
  return std::filesystem::path{"/tmp"} / ("troupe-" + std::to_string(::getuid())) / "exe";
}

} // namespace troupe::detail
