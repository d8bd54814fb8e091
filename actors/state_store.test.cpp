// The head's state store on both backends: SQLite in a temporary directory
// (across forked and killed processes) and a real redis-server on a loopback
// port the OS chose.

#include "actors/state_store.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/test_processes.hpp"

using troupe::open_state_store;
using troupe::state_store;
using troupe::state_store_error;
using troupe::store::test::spawn;
using troupe::store::test::wait_status;

namespace {

using records = std::vector<std::pair<std::string, std::string>>;
using batch = std::vector<state_store::write>;

/// A directory of the test's own (mkdtemp), removed with what it holds.
struct temp_dir {
  std::string path;
  temp_dir() {
    auto pattern =
        (std::filesystem::temp_directory_path() / "troupe_state_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

/// Returns the message of the state_store_error that `f` throws.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const state_store_error& e) {
    return e.what();
  }
  FAIL("no state_store_error was thrown");
  return {};
}

/// Runs `body` in a forked child; returns what it wrote to its pipe, after
/// checking that it exited with 0.
std::string child_output(const std::function<std::string()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  auto pid = spawn([&] {
    ::close(fds[0]);
    auto text = body();
    return ::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size())
               ? 0
               : 1;
  });
  ::close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  CHECK(wait_status(pid) == 0);
  return out;
}

/// The behaviour both backends share: writes, overwrites, erasures, tables
/// apart from each other, keys in order.
void check_writes(state_store& s) {
  s.apply({{"nodes", "n2", "two"}, {"nodes", "n1", "one"}, {"jobs", "n1", "job one"}});
  CHECK(s.load("nodes") == records{{"n1", "one"}, {"n2", "two"}});
  CHECK(s.load("jobs") == records{{"n1", "job one"}});
  s.apply({{"nodes", "n1", "one again"}, {"nodes", "n2", std::nullopt}});
  CHECK(s.load("nodes") == records{{"n1", "one again"}});
  CHECK(s.load("jobs") == records{{"n1", "job one"}});
  s.apply({{"jobs", "n1", std::nullopt}, {"jobs", "absent", std::nullopt}});
  CHECK(s.load("jobs").empty());
  CHECK(s.load("actors").empty());
  s.apply({}); // nothing, and no error
  CHECK(s.load("nodes") == records{{"n1", "one again"}});
}

/// Keys and values are bytes: NUL, 0xff, empty values; order is bytewise.
void check_binary(state_store& s) {
  std::string key_nul("k\0a", 3), key_high("k\xff", 2), value(256, '\0');
  for (int i = 0; i < 256; ++i)
    value[static_cast<std::size_t>(i)] = static_cast<char>(i);
  s.apply({{"actors", key_high, value},
           {"actors", key_nul, std::string("\0\0", 2)},
           {"actors", "k", ""}});
  CHECK(s.load("actors") ==
        records{{"k", ""}, {key_nul, std::string("\0\0", 2)}, {key_high, value}});
}

void check_bad_tables(state_store& s) {
  for (std::string name : {"", "meta", "Nodes", "a:b", "x y"})
    CHECK(error_of([&] {
            s.apply({{name, "k", "v"}});
          }).find("bad state store table name") != std::string::npos);
  CHECK(error_of([&] { s.load("meta"); }).find("not 'meta'") != std::string::npos);
}

} // namespace

TEST_CASE("a sqlite store keeps writes, overwrites and erasures, per table") {
  temp_dir dir;
  auto s = open_state_store(dir.path);
  CHECK(s->describe() == "sqlite " + dir.path + "/state.db");
  check_writes(*s);
  check_binary(*s);
  check_bad_tables(*s);
}

TEST_CASE("a reopened sqlite store finds what the closed one wrote") {
  temp_dir dir;
  auto where = "sqlite:" + dir.path + "/made/on/open";
  open_state_store(where)->apply(
      {{"nodes", std::string("n\0", 2), std::string("v\0", 2)}});
  CHECK(std::filesystem::exists(dir.path + "/made/on/open/state.db"));
  CHECK(open_state_store(where)->load("nodes") ==
        records{{std::string("n\0", 2), std::string("v\0", 2)}});
}

TEST_CASE("a sqlite batch that fails midway leaves nothing of it") {
  temp_dir dir;
  open_state_store(dir.path)->apply({{"nodes", "kept", "1"}, {"nodes", "erased", "2"}});
  { // A trigger makes the third write of the next batch fail inside SQLite.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path + "/state.db").c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(
              db,
              "CREATE TRIGGER fail BEFORE INSERT ON records WHEN NEW.key = "
              "CAST('bad' AS BLOB) BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
              nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_state_store(dir.path);
  auto msg = error_of([&] {
    s->apply({{"nodes", "kept", "changed"},
              {"nodes", "erased", std::nullopt},
              {"nodes", "bad", "x"},
              {"jobs", "new", "y"}});
  });
  CHECK(msg.find("forced failure") != std::string::npos);
  CHECK(msg.find(dir.path + "/state.db") != std::string::npos);
  CHECK(s->load("nodes") == records{{"erased", "2"}, {"kept", "1"}});
  CHECK(s->load("jobs").empty());
  s->apply({{"jobs", "new", "y"}}); // the store still works after the rollback
  CHECK(s->load("jobs") == records{{"new", "y"}});
}

TEST_CASE("a second head cannot open the directory while the first holds it") {
  temp_dir dir;
  auto try_open = [&] {
    try {
      auto s = open_state_store(dir.path);
      return "opened, " + std::to_string(s->load("nodes").size()) + " record(s)";
    } catch (const state_store_error& e) {
      return std::string(e.what());
    }
  };
  {
    auto s = open_state_store(dir.path);
    s->apply({{"nodes", "n1", "x"}});
    auto msg = child_output(try_open);
    CHECK(msg.find("another head is using " + dir.path + " (pid " +
                   std::to_string(::getpid()) + ")") != std::string::npos);
    CHECK(msg.find("cannot open state store '" + dir.path + "'") != std::string::npos);
  }
  CHECK(child_output(try_open) == "opened, 1 record(s)");
}

TEST_CASE("the batches a SIGKILLed head committed are all there, each whole") {
  temp_dir dir;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  // Batch i writes 25 records to each of four tables: the kill most likely
  // lands inside one, and half a batch would show in the counts.
  const std::vector<std::string> tables{"nodes", "jobs", "actors", "named_actors"};
  constexpr std::uint32_t per_table = 25;
  auto record = [](std::uint32_t i, std::uint32_t j) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08u/%02u", i, j); // key order is batch order
    return std::pair(std::string(buf), std::string("v\0", 2) + buf);
  };
  auto pid = spawn([&] {
    ::close(fds[0]);
    auto s = open_state_store(dir.path);
    for (std::uint32_t i = 0;; ++i) {
      batch b;
      for (auto& t : tables)
        for (std::uint32_t j = 0; j < per_table; ++j)
          b.push_back({t, record(i, j).first, record(i, j).second});
      s->apply(b);
      if (::write(fds[1], &i, sizeof i) != sizeof i)
        return 1;
    }
  });
  ::close(fds[1]);
  std::uint32_t committed = 0;
  while (committed < 10)
    REQUIRE(::read(fds[0], &committed, sizeof committed) == sizeof committed);
  // Killed right after a report, the child would die at the same early
  // point of the next batch every time; a few milliseconds later it is
  // anywhere in its loop. What it reported before dying is the lower bound.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  CHECK(wait_status(pid) == 128 + SIGKILL);
  for (std::uint32_t i; ::read(fds[0], &i, sizeof i) == sizeof i;)
    committed = i;
  ::close(fds[0]);
  auto s = open_state_store(dir.path); // the dead head's lock is free
  auto batches = s->load("nodes").size() / per_table;
  REQUIRE(batches > committed); // batches 0..committed at least
  records expected;
  for (std::uint32_t i = 0; i < batches; ++i)
    for (std::uint32_t j = 0; j < per_table; ++j)
      expected.push_back(record(i, j));
  for (auto& t : tables)
    CHECK_MESSAGE(s->load(t) == expected, t);
}

TEST_CASE("a sqlite store written by a newer layout version is refused") {
  temp_dir dir;
  open_state_store(dir.path).reset();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir.path + "/state.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE meta SET value = 2 WHERE name = 'layout'", nullptr,
                     nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto msg = error_of([&] { open_state_store(dir.path); });
  CHECK(msg.find("written by layout version 2") != std::string::npos);
  CHECK(msg.find(dir.path) != std::string::npos);
}

TEST_CASE("a directory that cannot be made fails with its path and the cause") {
  temp_dir dir;
  std::fclose(std::fopen((dir.path + "/file").c_str(), "w"));
  auto where = dir.path + "/file/sub";
  auto msg = error_of([&] { open_state_store(where); });
  CHECK(msg.find("cannot open state store '" + where + "'") != std::string::npos);
  CHECK(msg.find("Not a directory") != std::string::npos);
}

TEST_CASE("bad state store addresses fail clearly") {
  auto check = [](const std::string& where, const std::string& why) {
    auto msg = error_of([&] { open_state_store(where); });
    CHECK_MESSAGE(
        msg.find("bad state store address '" + where + "'") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find(why) != std::string::npos, msg);
  };
  check("redis://nohost", "no /KEY");
  check("redis://nohost/k", "no :PORT");
  check("redis://h:notaport/k", "PORT 'notaport' is not a number");
  check("redis://h:99999/k", "PORT '99999'");
  check("redis://h:6379/", "empty KEY");
  check("redis://:6379/k", "empty HOST");
  check("reddis://h:6379/k", "unknown scheme");
  check("sqlite:", "no directory");
  CHECK(error_of([] { open_state_store(""); }).find("no state store given") !=
        std::string::npos);
}

namespace {

/// Returns a loopback port nobody listened on a moment ago.
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  auto* sa = reinterpret_cast<sockaddr*>(&a);
  bool ok = ::bind(fd, sa, len) == 0 && ::getsockname(fd, sa, &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(a.sin_port);
}

using raw_client = std::unique_ptr<redisContext, decltype(&redisFree)>;

/// A connection of the test's own, for what it does behind a store's back.
raw_client connect_raw(std::uint16_t port, timeval timeout = {2, 0}) {
  return raw_client(redisConnectWithTimeout("127.0.0.1", port, timeout), &redisFree);
}

/// Returns the answer to `argv` as text (a status, string, integer or
/// error), or "no answer".
std::string ask(redisContext* c, std::vector<std::string> argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
  if (!r)
    return "no answer";
  auto out = r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
             : r->str                       ? std::string(r->str, r->len)
                                            : "";
  freeReplyObject(r);
  return out;
}

/// A redis-server of the test's own on a loopback port, persisting nothing,
/// stopped (SIGTERM, then reaped) when the test ends, also on a failed
/// check; the kernel kills it if the test process dies first.
class redis_server {
public:
  redis_server() {
    // Another program may take the port between free_port() and redis's
    // bind: then redis exits, and a new port is tried.
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
      port_ = free_port();
      start();
      wait_ready();
    }
    if (pid_ < 0)
      FAIL((exit_code_ == 127 ? "redis-server is not installed (./dev deps installs it)"
                              : "redis-server did not answer PING; see " + dir_.path));
  }
  ~redis_server() { stop(); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& key) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + key;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

private:
  void start() {
    auto port = std::to_string(port_);
    auto log = dir_.path + "/redis.log";
    std::fflush(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
               dir_.path.c_str(), "--logfile", log.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }

  /// Polls PING until it answers PONG, redis exits, or 10 s passed.
  void wait_ready() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        return;
      }
      if (auto c = connect_raw(port_, {0, 200'000});
          c && !c->err && ask(c.get(), {"PING"}) == "PONG")
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
  }

  temp_dir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int exit_code_ = 0;
};

} // namespace

TEST_CASE("a redis store keeps writes, overwrites and erasures, per table") {
  redis_server server;
  auto s = open_state_store(server.url("troupe"));
  CHECK(s->describe() ==
        "redis 127.0.0.1:" + std::to_string(server.port()) + " key troupe");
  check_writes(*s);
  check_binary(*s);
  check_bad_tables(*s);
}

TEST_CASE("stores of two keys on one redis server keep apart, and reopen to their own") {
  redis_server server;
  auto a = open_state_store(server.url("a"));
  auto b = open_state_store(server.url("a:b")); // a prefix of the other's key names
  a->apply({{"nodes", "n1", "from a"}, {"b_nodes", "n1", "from a"}});
  b->apply({{"nodes", "n1", "from b"}});
  CHECK(a->load("nodes") == records{{"n1", "from a"}});
  CHECK(b->load("nodes") == records{{"n1", "from b"}});
  b->apply({{"nodes", "n1", std::nullopt}});
  CHECK(b->load("nodes").empty());
  a.reset();
  CHECK(open_state_store(server.url("a"))->load("nodes") == records{{"n1", "from a"}});
  auto raw = connect_raw(server.port());
  CHECK(ask(raw.get(), {"HGET", "a:nodes", "n1"}) == "from a"); // tables are KEY:TABLE
  CHECK(ask(raw.get(), {"HGET", "a:meta", "layout"}) == "1");
}

TEST_CASE("a redis store written by a newer layout version is refused") {
  redis_server server;
  auto raw = connect_raw(server.port());
  REQUIRE(ask(raw.get(), {"HSET", "v:meta", "layout", "2"}) == "1");
  auto msg = error_of([&] { open_state_store(server.url("v")); });
  CHECK(msg.find("v:meta was written by layout version 2") != std::string::npos);
  CHECK(msg.find(server.url("v")) != std::string::npos);
}

TEST_CASE("a redis store reconnects once when the server dropped its connection") {
  redis_server server;
  auto s = open_state_store(server.url("r"));
  s->apply({{"nodes", "n1", "x"}});
  auto raw = connect_raw(server.port());
  // Kills the store's connection, not ours (CLIENT KILL skips its caller).
  CHECK(ask(raw.get(), {"CLIENT", "KILL", "TYPE", "normal"}) == "1");
  // Megabytes to write on a dead connection: SIGPIPE, were it not blocked.
  batch big;
  for (int i = 0; i < 2000; ++i)
    big.push_back({"jobs", "j" + std::to_string(i), std::string(4096, 'x')});
  s->apply(big);
  CHECK(s->load("jobs").size() == 2000);
  CHECK(ask(raw.get(), {"CLIENT", "KILL", "TYPE", "normal"}) == "1");
  CHECK(s->load("nodes") == records{{"n1", "x"}});
  server.stop();
  auto msg = error_of([&] { s->apply({{"nodes", "n2", "y"}}); });
  CHECK(msg.find("cannot connect to redis at 127.0.0.1:" +
                 std::to_string(server.port())) != std::string::npos);
}

TEST_CASE(
    "a redis batch meeting a foreign non-hash key fails and says it was partly applied") {
  redis_server server;
  auto s = open_state_store(server.url("w"));
  auto raw = connect_raw(server.port());
  REQUIRE(ask(raw.get(), {"SET", "w:jobs", "not a hash"}) == "OK");
  auto msg = error_of([&] { s->apply({{"nodes", "n1", "x"}, {"jobs", "j1", "y"}}); });
  CHECK(msg.find("batch partly applied, write 1 failed: WRONGTYPE") != std::string::npos);
  CHECK(s->load("nodes") == records{{"n1", "x"}}); // Redis does not roll back
}

TEST_CASE("an unreachable redis fails with a message naming its address") {
  auto port = std::to_string(free_port());
  auto where = "redis://127.0.0.1:" + port + "/k";
  auto msg = error_of([&] { open_state_store(where); });
  CHECK(msg.find("cannot open state store '" + where + "'") != std::string::npos);
  CHECK(msg.find("cannot connect to redis at 127.0.0.1:" + port +
                 ": Connection refused") != std::string::npos);
}
