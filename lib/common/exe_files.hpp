#pragma once

// The executable a job's workers run, named by its content: a node that lacks
// the driver's executable (another machine, or the file is gone) gets it from
// the driver by hash and runs workers from its cache.

#include <cstdint>
#include <filesystem>
#include <string>

namespace troupe::detail {

/// Returns the SHA-256 of the file's bytes as 64 hex digits; throws
/// `troupe::error` (runtime) when it cannot be read. Results are kept per
/// (path, size, modification time), so a second call costs a `stat`.
std::string file_sha256(const std::string& path);

/// Returns whether `path` is a file whose SHA-256 is `hash` (false when it
/// is missing or cannot be read).
bool file_has_hash(const std::string& path, const std::string& hash);

/// Returns this process's executable as its job knows it: TROUPE_JOB_EXE
/// when set (a worker started from a fetched copy), else /proc/self/exe
/// (without the " (deleted)" the kernel appends to a removed file).
std::string job_exe();

/// Returns the directory of fetched executables:
/// $TROUPE_EXE_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/troupe/exe.
std::filesystem::path exe_cache_dir();

} // namespace troupe::detail
