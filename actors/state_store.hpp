#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe {

/// Thrown by a state store: names the store and what failed.
struct state_store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Where the head keeps the cluster's metadata (nodes, jobs, actors, named
/// actors, placement groups) across its own restarts: tables of key -> value,
/// written in atomic, durable batches. Keys and values are bytes (the values
/// are Cap'n Proto records the caller encodes); the store never reads them.
///
/// Table names are `[a-z0-9_]+` and `meta` is reserved: a backend keeps its
/// layout version there, and Redis builds key names from table names.
///
/// Two backends (`open_state_store` picks one):
/// - **SQLite** (sqlite_state_store.cpp): one file `state.db` in a directory,
///   WAL with `synchronous=FULL`, so a batch that `apply` returned from
///   survives SIGKILL and a power cut. A `head.lock` file beside it, held
///   with `flock`, keeps a second head out while the first lives.
/// - **Redis** (redis_state_store.cpp): a hash `KEY:TABLE` per table, a batch
///   is one MULTI/EXEC. Durable only as far as the server is: `appendonly
///   yes` with `appendfsync always` for the same promise as SQLite (with the
///   default `everysec` a crash of the server loses up to a second; without
///   AOF, everything since the last snapshot). Redis never rolls a
///   transaction back: a command that fails while EXEC runs (only a foreign
///   non-hash value at `KEY:TABLE` can make HSET fail) leaves the others
///   applied, and `apply` throws. No lock: two heads on one KEY are the
///   operator's mistake.
class state_store {
public:
  /// One change: `value` set, or erased when it is nullopt.
  struct write {
    std::string table;
    std::string key;
    std::optional<std::string> value;
  };

  virtual ~state_store() = default;

  /// Applies `batch` whole or not at all; durable when it returns. Throws
  /// state_store_error when it cannot, the batch then not applied (but see
  /// Redis above). An empty batch does nothing.
  virtual void apply(const std::vector<write>& batch) = 0;

  /// Returns every key and value of `table`, ordered by key (bytewise).
  virtual std::vector<std::pair<std::string, std::string>>
  load(std::string_view table) = 0;

  /// Returns where the store is, e.g. "sqlite /var/lib/troupe/state.db" or
  /// "redis 127.0.0.1:6379 key troupe": for logs and `troupe status`.
  virtual std::string describe() const = 0;
};

/// Opens the store at `where`: a directory (SQLite file `state.db` in it,
/// made with the directory if missing), `sqlite:PATH-TO-DIR`, or
/// `redis://HOST:PORT/KEY` (KEY prefixes every Redis key, so clusters can
/// share one server). Throws state_store_error naming `where` and the cause:
/// an unwritable directory, Redis unreachable, a bad URL, a store written by
/// a newer layout version, another live head holding the directory.
std::unique_ptr<state_store> open_state_store(const std::string& where);

/// The SQLite backend in directory `dir` (see open_state_store).
std::unique_ptr<state_store> open_sqlite_state_store(const std::filesystem::path& dir);

/// The Redis backend at `host`:`port`, its keys prefixed with `key` + ':'.
std::unique_ptr<state_store> open_redis_state_store(const std::string& host,
                                                    std::uint16_t port,
                                                    const std::string& key);

/// Throws state_store_error unless `table` is a table name a store takes
/// (`[a-z0-9_]+`, not `meta`). For the backends.
void check_table_name(std::string_view table);

/// The layout version of the stores this build writes; a store of a higher
/// one is refused (its records may mean something else).
inline constexpr int state_store_layout = 1;

} // namespace troupe
