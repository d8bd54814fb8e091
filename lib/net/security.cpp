#include "lib/net/security.hpp"

#include <cstdlib>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/config.hpp"
#include "lib/net/credentials.hpp"
#include "lib/net/tls_context.hpp"

namespace troupe::net {

namespace {

bool insecure_in_env() {
  return detail::env_or("TROUPE_INSECURE", "") == "1";
}

} // namespace

security security_from_env(const std::string& role) {
  security sec;
  if (insecure_in_env()) {
    sec.insecure = true;
    return sec;
  }
  auto text = detail::env_or(token_variable, "");
  if (text.empty())
    throw std::runtime_error(
      "no cluster token: pass the one `troupe start --head` printed with --token or "
      "TROUPE_TOKEN (or run every process with --insecure / TROUPE_INSECURE=1)");
  try {
    auto token = cluster_token::parse(text);
    auto creds = issue_credentials(token, role);
    sec.cluster_id = creds.cluster_id;
    sec.tls = std::make_shared<tls_context>(creds);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  return sec;
}

std::filesystem::path runtime_dir() {
  auto* xdg = std::getenv("XDG_RUNTIME_DIR");
  std::filesystem::path base = xdg && *xdg ? xdg : "/tmp";
  auto dir = base / ("troupe-" + std::to_string(::getuid()));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  // Pid files decide which processes `troupe stop` signals, and the cluster
  // file holds the token: only we may read or write them.
  ::chmod(dir.c_str(), 0700);
  return dir;
}

std::filesystem::path local_cluster_file() {
  return runtime_dir() / "cluster.token";
}

void settle_security(const std::string& token, bool insecure, bool embedded) {
  if (insecure) {
    ::setenv("TROUPE_INSECURE", "1", 1);
    ::unsetenv(token_variable);
    return;
  }
  if (!token.empty()) {
    try {
      cluster_token::parse(token);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
    ::setenv(token_variable, token.c_str(), 1);
    ::unsetenv("TROUPE_INSECURE");
    return;
  }
  if (insecure_in_env() || !detail::env_or(token_variable, "").empty())
    return;
  if (embedded) {
    ::setenv(token_variable, cluster_token::generate().text().c_str(), 1);
    return;
  }
  auto local = read_token_file(local_cluster_file());
  if (local == "insecure")
    ::setenv("TROUPE_INSECURE", "1", 1);
  else if (!local.empty())
    ::setenv(token_variable, local.c_str(), 1);
}

} // namespace troupe::net
