// The Redis backend of the state store: a hash `KEY:TABLE` per table, a
// batch in one MULTI/EXEC (see state_store.hpp for what Redis promises).

#include <algorithm>
#include <csignal>
#include <ctime>
#include <string>

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sys/time.h>

#include "actors/state_store.hpp"

namespace troupe {

namespace {

/// A head waiting for an unreachable server is a head not starting: fail
/// soon and say so.
constexpr timeval connect_timeout{2, 0};

/// Longer than connecting: with `appendfsync always` EXEC waits for an
/// fsync, which a busy disk can stretch to seconds.
constexpr timeval command_timeout{10, 0};

struct context_free {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct reply_free {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using context_ptr = std::unique_ptr<redisContext, context_free>;
using reply_ptr = std::unique_ptr<redisReply, reply_free>;

/// The connection failed (refused, lost, timed out): worth one reconnect.
struct connection_lost : state_store_error {
  using state_store_error::state_store_error;
};

/// Keeps SIGPIPE from this thread while hiredis writes: hiredis 0.14 writes
/// with write(2), not send(MSG_NOSIGNAL), so a server that dropped the
/// connection would kill the head instead of giving EPIPE. Blocking the
/// signal per thread (and taking one that arrived) leaves the process's
/// disposition alone, which a library has no business changing.
class sigpipe_guard {
public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~sigpipe_guard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

class redis_state_store final : public state_store {
public:
  redis_state_store(std::string host, std::uint16_t port, std::string key)
      : host_(std::move(host))
      , port_(port)
      , key_(std::move(key)) {
    sigpipe_guard guard;
    ctx_ = connect();
    check_layout();
  }

  void apply(const std::vector<write>& batch) override {
    for (auto& w : batch)
      check_table_name(w.table);
    if (batch.empty())
      return;
    // Sending the batch again after a lost connection is safe: it sets and
    // erases fixed values, so applying it twice (EXEC ran, its answer got
    // lost) ends where applying it once does.
    retrying([&] { send_batch(batch); });
  }

  std::vector<std::pair<std::string, std::string>> load(std::string_view table) override {
    check_table_name(table);
    auto hash = hash_name(table);
    std::vector<std::pair<std::string, std::string>> out;
    retrying([&] {
      redisAppendCommand(ctx_.get(), "HGETALL %b", hash.data(), hash.size());
      auto r = next_reply();
      if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        fail("HGETALL " + hash, r.get());
      out.clear();
      for (std::size_t i = 0; i + 1 < r->elements; i += 2)
        out.emplace_back(bytes(r->element[i]), bytes(r->element[i + 1]));
    });
    // Redis hashes have no order; SQLite's is bytewise, and so is string's <.
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string describe() const override { return "redis " + address() + " key " + key_; }

private:
  std::string address() const { return host_ + ':' + std::to_string(port_); }

  std::string hash_name(std::string_view table) const {
    return key_ + ':' + std::string(table);
  }

  static std::string bytes(const redisReply* r) {
    return r->str ? std::string(r->str, static_cast<std::size_t>(r->len)) : std::string();
  }

  [[noreturn]] void fail(const std::string& what, const redisReply* r) const {
    std::string why = "unexpected answer";
    if (r && (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS))
      why = bytes(r);
    throw state_store_error(describe() + ": " + what + ": " + why);
  }

  /// Returns a new connection, or throws connection_lost naming the address.
  context_ptr connect() const {
    context_ptr c(redisConnectWithTimeout(host_.c_str(), port_, connect_timeout));
    if (!c)
      throw connection_lost("cannot connect to redis at " + address() +
                            ": out of memory");
    // The connect timeout covers connecting only; commands get their own.
    if (c->err == 0)
      redisSetTimeout(c.get(), command_timeout);
    if (c->err != 0)
      throw connection_lost("cannot connect to redis at " + address() + ": " + c->errstr);
    return c;
  }

  /// Returns the next answer, or throws connection_lost: after an I/O or
  /// protocol error a hiredis context is dead for good.
  reply_ptr next_reply() {
    void* r = nullptr;
    if (redisGetReply(ctx_.get(), &r) != REDIS_OK || !r)
      throw connection_lost(
          "lost redis at " + address() + ": " + ctx_->errstr +
          (ctx_->err == REDIS_ERR_PROTOCOL ? " (not a Redis server?)" : ""));
    return reply_ptr(static_cast<redisReply*>(r));
  }

  /// Runs `f` on a live connection; when the connection is lost, connects
  /// once more and runs it again before giving up.
  template <class F>
  void retrying(F&& f) {
    sigpipe_guard guard;
    try {
      if (!ctx_)
        ctx_ = connect();
      f();
      return;
    } catch (const connection_lost&) {
      ctx_.reset();
    }
    try {
      ctx_ = connect();
      f();
    } catch (const connection_lost& e) {
      ctx_.reset();
      throw state_store_error(describe() + ": " + e.what());
    }
  }

  /// MULTI, one HSET or HDEL per write, EXEC: in one round trip.
  void send_batch(const std::vector<write>& batch) {
    auto* c = ctx_.get();
    redisAppendCommand(c, "MULTI");
    for (auto& w : batch) {
      auto hash = hash_name(w.table);
      if (w.value)
        redisAppendCommand(c, "HSET %b %b %b", hash.data(), hash.size(), w.key.data(),
                           w.key.size(), w.value->data(), w.value->size());
      else
        redisAppendCommand(c, "HDEL %b %b", hash.data(), hash.size(), w.key.data(),
                           w.key.size());
    }
    redisAppendCommand(c, "EXEC");
    // Read every answer before judging any: the connection stays in step.
    reply_ptr refused; // the first command Redis would not queue
    for (std::size_t i = 0; i <= batch.size(); ++i)
      if (auto r = next_reply(); r->type == REDIS_REPLY_ERROR && !refused)
        refused = std::move(r);
    auto exec = next_reply();
    if (refused) // EXEC then discards the whole transaction (EXECABORT)
      fail("batch refused", refused.get());
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != batch.size())
      fail("EXEC", exec.get());
    for (std::size_t i = 0; i < exec->elements; ++i)
      if (exec->element[i]->type == REDIS_REPLY_ERROR)
        fail("batch partly applied, write " + std::to_string(i) + " failed",
             exec->element[i]);
  }

  /// Marks a new KEY with this build's layout, or refuses one a newer
  /// build wrote.
  void check_layout() {
    auto meta = key_ + ":meta";
    auto layout = std::to_string(state_store_layout);
    redisAppendCommand(ctx_.get(), "HSETNX %b layout %b", meta.data(), meta.size(),
                       layout.data(), layout.size());
    redisAppendCommand(ctx_.get(), "HGET %b layout", meta.data(), meta.size());
    auto set = next_reply();
    auto got = next_reply();
    if (set->type != REDIS_REPLY_INTEGER)
      fail("HSETNX " + meta, set.get());
    if (got->type != REDIS_REPLY_STRING)
      fail("HGET " + meta, got.get());
    auto text = bytes(got.get());
    int found = 0;
    try {
      found = std::stoi(text);
    } catch (const std::exception&) {
      throw state_store_error(meta + " holds layout '" + text + "', not a number");
    }
    if (found > state_store_layout)
      throw state_store_error(meta + " was written by layout version " + text +
                              "; this troupe reads up to version " + layout +
                              " (upgrade troupe)");
  }

  std::string host_;
  std::uint16_t port_;
  std::string key_;
  context_ptr ctx_; ///< null after a lost connection, until the next call
};

} // namespace

std::unique_ptr<state_store> open_redis_state_store(const std::string& host,
                                                    std::uint16_t port,
                                                    const std::string& key) {
  return std::make_unique<redis_state_store>(host, port, key);
}

} // namespace troupe
