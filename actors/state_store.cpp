#include "actors/state_store.hpp"

#include <algorithm>
#include <charconv>

namespace troupe {

namespace {

constexpr std::string_view redis_scheme = "redis://";
constexpr std::string_view sqlite_scheme = "sqlite:";

struct redis_address {
  std::string host;
  std::uint16_t port = 0;
  std::string key;
};

[[noreturn]] void bad_url(const std::string& where, const std::string& why) {
  throw state_store_error("bad state store address '" + where + "': " + why +
                          " (expected redis://HOST:PORT/KEY)");
}

/// Parses `redis://HOST:PORT/KEY`, HOST maybe `[IPv6]`. All three are
/// required: a default port or key would let two clusters that forgot one
/// share their records without noticing.
redis_address parse_redis_url(const std::string& where) {
  std::string_view rest(where);
  rest.remove_prefix(redis_scheme.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    bad_url(where, "no /KEY");
  auto host_port = rest.substr(0, slash);
  redis_address out;
  out.key = std::string(rest.substr(slash + 1));
  if (out.key.empty())
    bad_url(where, "empty KEY");
  auto is_bad = [](unsigned char c) { return c <= ' ' || c == 0x7f || c == '/'; };
  if (std::any_of(out.key.begin(), out.key.end(), is_bad))
    bad_url(where, "KEY has a space, a control character or a '/'");
  auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos)
    bad_url(where, "no :PORT");
  auto host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty())
    bad_url(where, "empty HOST");
  out.host = std::string(host);
  auto port = host_port.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value == 0 || value > 65535)
    bad_url(where, "PORT '" + std::string(port) + "' is not a number in 1..65535");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

/// Returns the directory that `where` names: itself or after `sqlite:`.
std::string parse_directory(const std::string& where) {
  std::string dir = where;
  if (where.starts_with(sqlite_scheme))
    dir = where.substr(sqlite_scheme.size());
  else if (where.find("://") != std::string::npos)
    // Not a directory named "x:": a scheme we do not know (a typo of redis://).
    bad_url(where, "unknown scheme");
  if (dir.empty())
    bad_url(where, "no directory");
  return dir;
}

} // namespace

void check_table_name(std::string_view table) {
  auto is_ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (table.empty() || table == "meta" || !std::all_of(table.begin(), table.end(), is_ok))
    throw state_store_error("bad state store table name '" + std::string(table) +
                            "' (expected [a-z0-9_]+, not 'meta')");
}

std::unique_ptr<state_store> open_state_store(const std::string& where) {
  if (where.empty())
    throw state_store_error(
        "no state store given (a directory or redis://HOST:PORT/KEY)");
  std::optional<redis_address> redis;
  std::string dir;
  if (where.starts_with(redis_scheme))
    redis = parse_redis_url(where);
  else
    dir = parse_directory(where);
  try {
    if (redis)
      return open_redis_state_store(redis->host, redis->port, redis->key);
    return open_sqlite_state_store(dir);
  } catch (const state_store_error& e) {
    throw state_store_error("cannot open state store '" + where + "': " + e.what());
  }
}

} // namespace troupe
