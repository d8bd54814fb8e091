// The SQLite backend of the state store: one file `state.db` in a directory
// the head holds alone (see state_store.hpp).

#include <cerrno>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include "actors/state_store.hpp"

namespace troupe {

namespace {

namespace fs = std::filesystem;

/// How long a statement waits for a lock another connection holds (a backup
/// tool or `sqlite3` reading the file) before it fails.
constexpr int busy_timeout_ms = 5000;

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// Resets a statement when the scope ends, also on a throw: a statement left
/// mid-step keeps its read transaction open, and the WAL cannot be
/// checkpointed past it.
struct reset_on_exit {
  sqlite3_stmt* s;
  ~reset_on_exit() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

/// Returns the pid a holder wrote into the lock file, or "unknown" (it may
/// have taken the lock and not written yet).
std::string holder_pid(int fd) {
  char buf[32] = {};
  auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

/// The head's claim on a directory: `head.lock`, held with flock and the
/// holder's pid in it. The kernel drops a flock with the last descriptor of
/// its process, so a head killed by SIGKILL leaves the directory free, where a
/// pid file alone would need a liveness check that pid reuse can fool. The
/// file itself stays: removing it on close would let a newcomer lock an
/// unlinked inode while a third process locks a new file.
class dir_lock {
public:
  explicit dir_lock(const fs::path& dir) {
    auto path = dir / "head.lock";
    // O_CLOEXEC: programs the head starts must not keep its lock after it dies.
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw state_store_error("cannot open " + path.string() + ": " + errno_text(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      auto err = errno;
      auto pid = holder_pid(fd_);
      ::close(fd_);
      if (err == EWOULDBLOCK)
        throw state_store_error("another head is using " + dir.string() + " (pid " + pid +
                                ")");
      throw state_store_error("cannot lock " + path.string() + ": " + errno_text(err));
    }
    auto text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      auto err = errno;
      ::close(fd_);
      throw state_store_error("cannot write " + path.string() + ": " + errno_text(err));
    }
  }
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock() { ::close(fd_); }

private:
  int fd_ = -1;
};

/// Makes `dir` (and its parents) and returns it absolute, for messages.
fs::path make_directory(const fs::path& dir) {
  std::error_code ec;
  auto abs = fs::absolute(dir, ec);
  if (ec)
    abs = dir;
  fs::create_directories(abs, ec);
  if (ec)
    throw state_store_error("cannot make directory " + abs.string() + ": " +
                            ec.message());
  return abs;
}

std::string column_bytes(sqlite3_stmt* s, int i) {
  // blob before bytes (SQLite's advice); a zero-length blob comes back null.
  auto p = static_cast<const char*>(sqlite3_column_blob(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

class sqlite_state_store final : public state_store {
public:
  explicit sqlite_state_store(const fs::path& dir)
      : file_(dir / "state.db")
      , lock_(dir) {
    sqlite3* db = nullptr;
    auto rc = sqlite3_open_v2(file_.c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db_.reset(db); // also on failure: the handle holds the message and must be closed
    if (rc != SQLITE_OK)
      fail("cannot open");
    sqlite3_busy_timeout(db, busy_timeout_ms);
    // WAL: a commit appends to one file and fsyncs it once. FULL (not WAL's
    // usual NORMAL) fsyncs at every commit, so a batch `apply` returned from
    // survives a power cut, not only a crash of the process.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    set_up_tables();
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    rollback_ = prepare("ROLLBACK");
    upsert_ = prepare("INSERT INTO records(tbl, key, value) VALUES(?1, ?2, ?3)"
                      " ON CONFLICT(tbl, key) DO UPDATE SET value = excluded.value");
    erase_ = prepare("DELETE FROM records WHERE tbl = ?1 AND key = ?2");
    select_ = prepare("SELECT key, value FROM records WHERE tbl = ?1 ORDER BY key");
  }

  void apply(const std::vector<write>& batch) override {
    for (auto& w : batch)
      check_table_name(w.table);
    if (batch.empty())
      return;
    // IMMEDIATE takes the write lock first: a deferred transaction could
    // meet a writer at its first INSERT and fail where waiting would do.
    step_done(begin_.get(), "cannot begin a batch");
    try {
      for (auto& w : batch)
        apply_one(w);
      step_done(commit_.get(), "cannot commit a batch");
    } catch (...) {
      // Some errors (a full disk, I/O) roll the transaction back themselves.
      if (!sqlite3_get_autocommit(db_.get())) {
        reset_on_exit reset{rollback_.get()};
        sqlite3_step(rollback_.get());
      }
      throw;
    }
  }

  std::vector<std::pair<std::string, std::string>> load(std::string_view table) override {
    check_table_name(table);
    auto* s = select_.get();
    reset_on_exit reset{s};
    bind_text(s, 1, table);
    std::vector<std::pair<std::string, std::string>> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
      out.emplace_back(column_bytes(s, 0), column_bytes(s, 1));
    if (rc != SQLITE_DONE)
      fail("cannot read table " + std::string(table));
    return out;
  }

  std::string describe() const override { return "sqlite " + file_.string(); }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw state_store_error(describe() + ": " + what + ": " +
                            (db_ ? sqlite3_errmsg(db_.get()) : "out of memory"));
  }

  void exec(const std::string& sql) {
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      fail("cannot run " + sql);
  }

  stmt_ptr prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    // PERSISTENT: these live as long as the store; SQLite places them apart.
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
        SQLITE_OK)
      fail(std::string("cannot prepare ") + sql);
    return stmt_ptr(s);
  }

  void step_done(sqlite3_stmt* s, const std::string& what) {
    reset_on_exit reset{s};
    if (sqlite3_step(s) != SQLITE_DONE)
      fail(what);
  }

  void bind_text(sqlite3_stmt* s, int i, std::string_view text) {
    if (sqlite3_bind_text64(s, i, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8) !=
        SQLITE_OK)
      fail("cannot bind a table name");
  }

  void bind_blob(sqlite3_stmt* s, int i, const std::string& bytes) {
    // data() is never null, so an empty string is an empty blob, not NULL.
    if (sqlite3_bind_blob64(s, i, bytes.data(), bytes.size(), SQLITE_STATIC) != SQLITE_OK)
      fail("cannot bind " + std::to_string(bytes.size()) + " bytes");
  }

  void apply_one(const write& w) {
    auto* s = w.value ? upsert_.get() : erase_.get();
    reset_on_exit reset{s};
    bind_text(s, 1, w.table);
    bind_blob(s, 2, w.key);
    if (w.value)
      bind_blob(s, 3, *w.value);
    if (sqlite3_step(s) != SQLITE_DONE)
      fail(std::string(w.value ? "cannot write" : "cannot erase") +
           " a record of table " + w.table);
  }

  /// Makes the tables of a new file, or checks the layout of an old one: in
  /// one transaction, so two heads racing (which the lock prevents anyway)
  /// or a crash midway leave no half-made file.
  void set_up_tables() {
    exec("BEGIN IMMEDIATE");
    try {
      exec("CREATE TABLE IF NOT EXISTS records(tbl TEXT NOT NULL, key BLOB NOT NULL,"
           " value BLOB NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID");
      exec("CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY,"
           " value INTEGER NOT NULL)");
      auto layout = std::to_string(state_store_layout);
      exec("INSERT OR IGNORE INTO meta(name, value) VALUES('layout', " + layout + ")");
      check_layout();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void check_layout() {
    auto s = prepare("SELECT value FROM meta WHERE name = 'layout'");
    if (sqlite3_step(s.get()) != SQLITE_ROW)
      fail("cannot read the layout version");
    auto layout = sqlite3_column_int64(s.get(), 0);
    if (layout > state_store_layout)
      throw state_store_error(file_.string() + " was written by layout version " +
                              std::to_string(layout) +
                              "; this troupe reads up to version " +
                              std::to_string(state_store_layout) + " (upgrade troupe)");
  }

  fs::path file_;
  dir_lock lock_; // before the database: taken before it opens, let go after it closes
  db_ptr db_;
  stmt_ptr begin_, commit_, rollback_, upsert_, erase_, select_;
};

} // namespace

std::unique_ptr<state_store> open_sqlite_state_store(const fs::path& dir) {
  return std::make_unique<sqlite_state_store>(make_directory(dir));
}

} // namespace troupe
