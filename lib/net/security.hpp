#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace troupe::net {

class tls_context;

/// What a process's connections use.
struct security {
  /// Plain TCP (`--insecure`, TROUPE_INSECURE=1): no certificate, no token.
  bool insecure = false;
  /// The TLS context, null when insecure.
  std::shared_ptr<tls_context> tls;
  /// The cluster's id ("" when insecure).
  std::string cluster_id;
};

/// The environment variable that carries the cluster token to the processes
/// a node starts (never a command-line argument: those are world-readable
/// in /proc).
inline constexpr const char* token_variable = "TROUPE_TOKEN";

/// Builds the security of a process of `role` ("node", "worker", "driver",
/// "cli") from its environment: TROUPE_INSECURE=1 is insecure; otherwise
/// the cluster token in TROUPE_TOKEN is required. Throws
/// std::runtime_error saying what is missing or wrong.
security security_from_env(const std::string& role);

/// This user's troupe folder on this machine ($XDG_RUNTIME_DIR or /tmp,
/// then troupe-<uid>, mode 0700): node pid files and the local cluster file.
std::filesystem::path runtime_dir();

/// What a head started on this machine leaves for the tools and programs
/// run here: its token, or the word "insecure" (mode 0600).
std::filesystem::path local_cluster_file();

/// Settles this process's security in its environment (TROUPE_TOKEN or
/// TROUPE_INSECURE, which the processes it starts inherit), from the first
/// of: `insecure`; `token`; the environment; for `embedded` (a cluster of
/// this process's own) a new token; the local cluster file. Throws
/// std::runtime_error when `token` is malformed.
void settle_security(const std::string& token, bool insecure, bool embedded);

} // namespace troupe::net
