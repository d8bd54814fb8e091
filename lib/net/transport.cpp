#include "lib/net/transport.hpp"

#include <cerrno>
#include <poll.h>
#include <map>
#include <mutex>
#include <stdexcept>
#include <sys/socket.h>

#include <caf/all.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <spdlog/spdlog.h>

#include "lib/net/connection_limits.hpp"
#include "lib/net/frame_guard.hpp"
#include "lib/net/handshakes.hpp"
#include "lib/net/tls_context.hpp"

namespace troupe::net {

namespace {

using caf::io::network::default_multiplexer;
using caf::io::network::native_socket;
using caf::io::network::rw_state;

/// One connection's bytes: through TLS (or plain TCP), then the frame guard.
class guarded_policy {
public:
  guarded_policy(std::shared_ptr<tls_session> tls, bool accepted, connection_slot slot)
    : tls_(std::move(tls)), guard_(accepted, max_message_bytes()), slot_(std::move(slot)) {}

  rw_state read_some(std::size_t& result, native_socket fd, void* buf, std::size_t len) {
    result = 0;
    std::size_t n = 0;
    if (tls_) {
      auto s = tls_->read(buf, len, n);
      if (s == tls_session::status::closed)
        return rw_state::failure;
    } else {
      auto r = ::recv(fd, buf, len, 0);
      if (r == 0)
        return rw_state::failure;
      if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? rw_state::success
                                                                         : rw_state::failure;
      n = static_cast<std::size_t>(r);
    }
    if (n == 0)
      return rw_state::success;
    auto why = guard_.check(static_cast<const std::byte*>(buf), n);
    if (!why.empty()) {
      spdlog::warn("dropped the connection from {}: it sent {}", peer_address(fd), why);
      return rw_state::failure;
    }
    result = n;
    return rw_state::success;
  }

  rw_state write_some(std::size_t& result, native_socket fd, const void* buf,
                      std::size_t len) {
    result = 0;
    if (len == 0)
      return rw_state::indeterminate;
    if (tls_) { // established: handshakes are done before CAF sees a socket
      auto s = tls_->write(buf, len, result);
      return s == tls_session::status::closed ? rw_state::failure : rw_state::success;
    }
    auto r = ::send(fd, buf, len, MSG_NOSIGNAL);
    if (r < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? rw_state::success
                                                                       : rw_state::failure;
    result = static_cast<std::size_t>(r);
    return rw_state::success;
  }

  // Decrypted bytes buffered in the session get no socket event: read on
  // while they fill what CAF waits for.
  bool must_read_more(native_socket, std::size_t threshold) {
    return tls_ && tls_->pending() >= threshold;
  }

private:
  std::shared_ptr<tls_session> tls_;
  frame_guard guard_;
  connection_slot slot_;
};

class guarded_scribe : public caf::io::scribe {
public:
  guarded_scribe(default_multiplexer& mpx, native_socket fd,
                 std::shared_ptr<tls_session> tls, bool accepted, connection_slot slot)
    : scribe(caf::io::network::conn_hdl_from_socket(fd)),
      stream_(mpx, fd, std::move(tls), accepted, std::move(slot)) {}

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_)
      launch();
  }

  void ack_writes(bool enable) override { stream_.ack_writes(enable); }

  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }

  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override { stream_.flush(this); }

  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  std::uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }

  void add_to_loop() override { stream_.activate(this); }

  void remove_from_loop() override { stream_.passivate(); }

private:
  void launch() {
    launched_ = true;
    stream_.start(this);
  }

  bool launched_ = false;
  caf::io::network::stream_impl<guarded_policy> stream_;
};

class guarded_doorman : public caf::io::network::doorman_impl {
public:
  guarded_doorman(default_multiplexer& mpx, native_socket fd, security sec,
                  std::shared_ptr<connection_limits> limits,
                  std::shared_ptr<handshakes> pending)
    : doorman_impl(mpx, fd),
      sec_(std::move(sec)),
      limits_(std::move(limits)),
      pending_(std::move(pending)) {}

  bool new_connection() override {
    if (detached())
      return false;
    auto fd = acceptor_.accepted_socket();
    auto peer = peer_address(fd);
    auto slot = limits_->admit(host_of(peer));
    if (!slot) {
      spdlog::warn("refused a connection from {}: {} connections from its address already "
                   "(TROUPE_MAX_CONNECTIONS_PER_PEER)",
                   peer, limits_->limit());
      ::close(fd);
      return false;
    }
    caf::io::network::nonblocking(fd, true);
    if (!sec_.tls)
      return adopt(fd, nullptr, std::move(slot));
    // The handshake runs on a thread of its own; the scribe is made in the
    // event loop once it is done.
    auto self = caf::intrusive_ptr<guarded_doorman>{this};
    auto slot_ptr = std::make_shared<connection_slot>(std::move(slot));
    auto pending = pending_;
    auto started = pending_->start(fd, [self, fd, slot_ptr, pending] {
      std::shared_ptr<tls_session> tls = self->sec_.tls->open_session(fd, true);
      if (!tls || tls->finish_handshake(handshake_timeout()) != tls_session::status::ok)
        return false;
      return pending->unless_closed([&] {
        self->acceptor_.backend().post([self, fd, tls, slot_ptr]() mutable {
          self->adopt(fd, std::move(tls), std::move(*slot_ptr));
        });
      });
    });
    if (!started) {
      spdlog::warn("refused a connection from {}: {} TLS handshakes are in progress already",
                   peer, pending_->pending());
      ::close(fd);
    }
    return started;
  }

private:
  /// Hands an accepted connection to the BASP broker (in the event loop).
  bool adopt(int fd, std::shared_ptr<tls_session> tls, connection_slot slot) {
    if (detached()) {
      ::close(fd);
      return false;
    }
    auto& mpx = acceptor_.backend();
    auto scribe =
      caf::make_counted<guarded_scribe>(mpx, fd, std::move(tls), true, std::move(slot));
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

  static std::string host_of(const std::string& address) {
    return address.substr(0, address.rfind(':'));
  }

  security sec_;
  std::shared_ptr<connection_limits> limits_;
  std::shared_ptr<handshakes> pending_;
};

class transport_actor : public caf::io::middleman_actor_impl {
public:
  transport_actor(caf::actor_config& cfg, caf::actor broker, security sec,
                  std::shared_ptr<handshakes> pending)
    : middleman_actor_impl(cfg, std::move(broker)),
      sec_(std::move(sec)),
      limits_(std::make_shared<connection_limits>(max_connections_per_peer())),
      pending_(std::move(pending)) {}

  const char* name() const override { return "troupe.transport"; }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             std::uint16_t port) override {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    caf::io::network::nonblocking(*fd, true);
    caf::io::network::child_process_inherit(*fd, false);
    std::shared_ptr<tls_session> tls;
    if (sec_.tls) {
      // This actor runs on a thread of its own: the handshake is done here,
      // before CAF's event loop sees the socket.
      tls = sec_.tls->open_session(*fd, false);
      if (!tls || tls->finish_handshake(handshake_timeout()) != tls_session::status::ok) {
        auto why = tls && !tls->refusal.empty() ? ": " + tls->refusal : std::string{};
        ::close(*fd);
        return caf::make_error(caf::sec::cannot_connect_to_node,
                               "the TLS handshake with " + host + ":" + std::to_string(port)
                                 + " failed" + why);
      }
    }
    if (auto why = await_first_bytes(*fd, tls.get()); !why.empty()) {
      ::close(*fd);
      return caf::make_error(caf::sec::cannot_connect_to_node,
                             host + ":" + std::to_string(port) + " " + why);
    }
    return caf::make_counted<guarded_scribe>(mpx(), *fd, std::move(tls), false,
                                             connection_slot{});
  }

  /// Waits until the peer's first bytes (its BASP server handshake) are
  /// there. CAF 0.17's broker makes a connecting side's context with a
  /// "last seen" of the clock's epoch: a heartbeat tick before those bytes
  /// are read drops the connection with `connection_timeout` (seen for
  /// direct connections whose peer finished its TLS handshake on its own
  /// thread a few milliseconds later).
  static std::string await_first_bytes(int fd, tls_session* tls) {
    if (tls && tls->pending() > 0)
      return {};
    pollfd p{fd, POLLIN, 0};
    auto ms = static_cast<int>(handshake_timeout().count());
    if (::poll(&p, 1, ms) == 1)
      return {};
    return "sent nothing within " + std::to_string(ms) + " ms"
           + (tls ? "" : " (is it running with TLS while this process runs --insecure?)");
  }

  caf::expected<caf::io::doorman_ptr> open(std::uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    caf::io::network::child_process_inherit(*fd, false);
    return caf::make_counted<guarded_doorman>(mpx(), *fd, sec_, limits_, pending_);
  }

private:
  default_multiplexer& mpx() {
    return static_cast<default_multiplexer&>(system().middleman().backend());
  }

  security sec_;
  std::shared_ptr<connection_limits> limits_;
  std::shared_ptr<handshakes> pending_;
};

/// Each actor system's transport: one table answers transport_of, insecure
/// and tls_of.
std::mutex systems_mutex;
std::map<const caf::actor_system*, const transport*> systems;

/// `sys`'s transport, or null; call with systems_mutex held.
const transport* find_transport(const caf::actor_system& sys) {
  auto i = systems.find(&sys);
  return i == systems.end() ? nullptr : i->second;
}

} // namespace

transport::transport(caf::actor_system& sys, security sec)
  : sys_(sys), sec_(std::move(sec)), pending_(std::make_shared<handshakes>(256)) {
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  // Detached: connect() blocks in the kernel's TCP connect.
  actor_ = sys.spawn<transport_actor, caf::detached + caf::hidden>(std::move(broker), sec_,
                                                                  pending_);
  std::lock_guard<std::mutex> guard{systems_mutex};
  systems[&sys] = this;
}

transport::~transport() {
  // No handshake thread posts into the event loop from now on.
  pending_->close();
  {
    std::lock_guard<std::mutex> guard{systems_mutex};
    systems.erase(&sys_);
  }
  caf::scoped_actor self{sys_, true};
  self->send_exit(actor_, caf::exit_reason::kill);
  self->wait_for(actor_);
}

caf::io::middleman_actor transport_of(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{systems_mutex};
  auto* t = find_transport(sys);
  if (!t)
    throw std::logic_error("no troupe transport is installed in this actor system");
  return t->actor();
}

bool insecure(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{systems_mutex};
  auto* t = find_transport(sys);
  return !t || t->settings().insecure;
}

std::shared_ptr<tls_context> tls_of(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{systems_mutex};
  auto* t = find_transport(sys);
  return t ? t->settings().tls : nullptr;
}

caf::expected<std::uint16_t> publish(caf::actor_system& sys, caf::strong_actor_ptr whom,
                                     std::set<std::string> ifs, std::uint16_t port,
                                     const std::string& bind, bool reuse_addr) {
  caf::scoped_actor self{sys};
  caf::expected<std::uint16_t> result{caf::sec::cannot_open_port};
  self
    ->request(transport_of(sys), caf::infinite, caf::publish_atom::value, port,
              std::move(whom), std::move(ifs), bind, reuse_addr)
    .receive([&](std::uint16_t p) { result = p; },
             [&](caf::error& e) { result = std::move(e); });
  return result;
}

void unpublish(caf::actor_system& sys, const caf::actor_addr& whom, std::uint16_t port) {
  caf::anon_send(transport_of(sys), caf::unpublish_atom::value, whom, port);
}

caf::expected<std::uint16_t> open(caf::actor_system& sys, std::uint16_t port,
                                  const std::string& bind) {
  caf::scoped_actor self{sys};
  caf::expected<std::uint16_t> result{caf::sec::cannot_open_port};
  self->request(transport_of(sys), caf::infinite, caf::open_atom::value, port, bind, false)
    .receive([&](std::uint16_t p) { result = p; },
             [&](caf::error& e) { result = std::move(e); });
  return result;
}

caf::expected<caf::strong_actor_ptr> remote_actor(caf::actor_system& sys,
                                                  std::set<std::string> ifs,
                                                  const std::string& host,
                                                  std::uint16_t port) {
  caf::scoped_actor self{sys};
  caf::expected<caf::strong_actor_ptr> result{caf::sec::cannot_connect_to_node};
  // A peer that accepts but never finishes its handshake must not hold the
  // caller for ever.
  self->request(transport_of(sys), connect_timeout(), caf::connect_atom::value, host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& found) {
        if (!ptr)
          result = caf::make_error(caf::sec::no_actor_published_at_port, port);
        else if (!sys.assignable(found, ifs))
          result = caf::make_error(caf::sec::unexpected_actor_messaging_interface,
                                   std::move(ifs), std::move(found));
        else
          result = std::move(ptr);
      },
      [&](caf::error& e) { result = std::move(e); });
  return result;
}

} // namespace troupe::net
