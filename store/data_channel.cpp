#include "store/data_channel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "lib/net/tls_context.hpp"

namespace troupe::store {

namespace {

constexpr std::uint64_t hello_magic = 0x74726f7570652d64; // "troupe-d"
constexpr std::uint64_t version = 1;

// Replies' status.
constexpr std::uint64_t status_ok = 0;
constexpr std::uint64_t status_no_object = 1;
constexpr std::uint64_t status_bad_range = 2;

// How long a source waits to send to a puller that stopped reading.
constexpr auto send_stall = std::chrono::seconds(30);

// How long a connection may take to greet (handshake and hello): one that
// never does holds a thread of the server's no longer.
constexpr auto hello_stall = std::chrono::seconds(10);

struct hello {
  std::uint64_t magic, version, key;
};

struct request {
  std::uint64_t offset, owner, seq, start, length;
};

struct reply {
  std::uint64_t status, length;
};

void set_timeout(int fd, int option, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

void no_delay(int fd) {
  int one = 1; // requests and reply headers are small: send them at once
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

std::uint64_t random_key() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

/// Returns the addresses of `host`:`port` for a stream socket.
addrinfo* resolve(const std::string& host, const std::string& port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0)
    return nullptr;
  return found;
}

} // namespace

// -- data_server --------------------------------------------------------------

data_server::data_server(object_store& store, std::function<void(std::uint64_t)> release,
                         std::shared_ptr<net::tls_context> tls)
    : store_(store)
    , release_(std::move(release))
    , tls_(std::move(tls))
    , key_(random_key()) {}

data_server::~data_server() {
  stop();
}

std::uint16_t data_server::listen(const std::string& host) {
  auto* found = resolve(host, "0", AI_PASSIVE);
  for (auto* a = found; a != nullptr && listener_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0)
      listener_ = fd;
    else
      ::close(fd);
  }
  if (found != nullptr)
    ::freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (listener_ < 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len))
    return 0;
  acceptor_ = std::thread([this] { accept_loop(); });
  auto port = bound.ss_family == AF_INET6
                  ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port;
  return ntohs(port);
}

void data_server::accept_loop() {
  for (;;) {
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
      continue;
    std::lock_guard<std::mutex> guard(mutex_);
    if (fd < 0 || stopping_) {
      if (fd >= 0)
        ::close(fd);
      return;
    }
    // Joins the threads of connections that ended (a puller reconnected).
    connections_.remove_if([](connection& c) {
      if (!c.done)
        return false;
      c.thread.join();
      return true;
    });
    auto& c = connections_.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, &c] { serve(c); });
  }
}

void data_server::serve(connection& c) {
  int fd = c.fd;
  no_delay(fd);
  set_timeout(fd, SO_SNDTIMEO, send_stall);
  set_timeout(fd, SO_RCVTIMEO, hello_stall);
  std::string why;
  auto stream = net::blocking_stream::open(fd, tls_, true, why);
  hello h{};
  if (stream.fd() >= 0 && stream.read_fully(&h, sizeof(h)) == sizeof(h)
      && h.magic == hello_magic && h.version == version && h.key == key_) {
    set_timeout(fd, SO_RCVTIMEO, std::chrono::milliseconds{0}); // pullers idle at will
    while (serve_one(stream)) {
    }
  } else {
    spdlog::warn("the data channel refused a connection from {}: {}", net::peer_address(fd),
                 !why.empty() ? why : "it sent no valid greeting (wrong key or version)");
  }
  std::lock_guard<std::mutex> guard(mutex_);
  ::close(fd);
  c.fd = -1;
  c.done = true;
}

bool data_server::serve_one(net::blocking_stream& stream) {
  request q{};
  if (stream.read_fully(&q, sizeof(q)) != sizeof(q))
    return false; // the puller went, or stop()
  reply r{status_no_object, 0};
  const std::byte* data = nullptr;
  bool pinned = false;
  bool reading = false;
  try {
    store_.pin(q.offset); // the bytes stay while they are sent
    pinned = true;
    auto obj = store_.read(q.offset); // in memory (read back if spilled) meanwhile
    reading = true;
    if (obj.id == troupe::object_id{q.owner, q.seq}) {
      r.status = status_bad_range;
      if (q.start <= obj.size && q.length <= obj.size - q.start) {
        r = {status_ok, q.length};
        data = obj.data + q.start;
      }
    }
  } catch (const std::exception&) {
    // Freed, never there, or not sealed: no such object.
  }
  bool ok = stream.write_fully(&r, sizeof(r)) &&
            (data == nullptr || stream.write_fully(data, r.length));
  if (reading)
    store_.end_read(q.offset);
  if (pinned)
    release_(q.offset);
  return ok;
}

void data_server::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (stopping_)
      return;
    stopping_ = true;
    // Wakes the threads: accept and recv return at once.
    if (listener_ >= 0)
      ::shutdown(listener_, SHUT_RDWR);
    for (auto& c : connections_)
      if (c.fd >= 0)
        ::shutdown(c.fd, SHUT_RDWR);
  }
  if (acceptor_.joinable())
    acceptor_.join();
  for (auto& c : connections_)
    c.thread.join();
  connections_.clear();
  if (listener_ >= 0)
    ::close(listener_);
  listener_ = -1;
}

// -- data_client --------------------------------------------------------------

data_client::data_client(std::shared_ptr<net::tls_context> tls,
                         std::chrono::milliseconds stall)
    : tls_(std::move(tls)), stall_(stall) {}

data_client::~data_client() {
  std::lock_guard<std::mutex> guard(mutex_);
  close_locked();
}

void data_client::close_locked() {
  stream_ = {};
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  peer_.clear();
}

std::string data_client::connect(const std::string& host, std::uint16_t port,
                                 std::uint64_t key) {
  auto peer = host + ":" + std::to_string(port) + ":" + std::to_string(key);
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (cancelled_)
      return "cancelled: the source is gone";
    if (fd_ >= 0 && peer_ == peer)
      return {};
    close_locked();
  }
  auto* found = resolve(host, std::to_string(port), 0);
  if (found == nullptr)
    return "cannot resolve " + host;
  std::string why = "no address";
  for (auto* a = found; a != nullptr && why != ""; a = a->ai_next)
    why = connect_to(a, host + ":" + std::to_string(port));
  ::freeaddrinfo(found);
  if (!why.empty())
    return why;
  std::string refused;
  auto stream = net::blocking_stream::open(fd_, tls_, false, refused);
  hello h{hello_magic, version, key};
  std::lock_guard<std::mutex> guard(mutex_);
  if (stream.fd() < 0) {
    close_locked();
    return refused;
  }
  stream_ = std::move(stream);
  if (!stream_.write_fully(&h, sizeof(h))) {
    close_locked();
    return "cannot greet " + host + ":" + std::to_string(port) + ": " +
           std::strerror(errno);
  }
  peer_ = peer;
  return {};
}

std::string data_client::connect_to(const addrinfo* a, const std::string& where) {
  int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
  if (fd < 0)
    return "cannot make a socket: " + std::string{std::strerror(errno)};
  // Bounds connecting too (Linux applies SO_SNDTIMEO to connect).
  set_timeout(fd, SO_SNDTIMEO, stall_);
  set_timeout(fd, SO_RCVTIMEO, stall_);
  no_delay(fd);
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (cancelled_) {
      ::close(fd);
      return "cancelled: the source is gone";
    }
    fd_ = fd; // cancel() may shut it down while it connects
  }
  if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0)
    return {};
  auto why = "cannot connect to " + where + ": " + std::strerror(errno);
  std::lock_guard<std::mutex> guard(mutex_);
  close_locked();
  return why;
}

std::string data_client::read(std::uint64_t offset, const troupe::object_id& id,
                              std::uint64_t start, std::uint64_t length,
                              std::byte* dest) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (fd_ < 0)
      return "not connected";
  }
  auto fail = [&](std::string why) {
    std::lock_guard<std::mutex> guard(mutex_);
    close_locked();
    return why;
  };
  request q{offset, id.owner, id.seq, start, length};
  reply r{};
  if (!stream_.write_fully(&q, sizeof(q)) || stream_.read_fully(&r, sizeof(r)) != sizeof(r))
    return fail(std::string{"the source did not answer: "} +
                (errno ? std::strerror(errno) : "it closed the connection"));
  if (r.status == status_no_object)
    return fail("the source's store no longer holds the object");
  if (r.status != status_ok || r.length != length)
    return fail("the source refused bytes " + std::to_string(start) + "+" +
                std::to_string(length) + " of the object");
  auto got = stream_.read_fully(dest, length);
  if (got == length)
    return {};
  auto why = errno == EAGAIN || errno == EWOULDBLOCK
                 ? "no bytes for " + std::to_string(stall_.count()) + " ms"
                 : std::string{errno ? std::strerror(errno) : "the connection closed"};
  return fail("the source stopped after " + std::to_string(got) + " of " +
              std::to_string(length) + " bytes: " + why);
}

void data_client::cancel() {
  std::lock_guard<std::mutex> guard(mutex_);
  cancelled_ = true;
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_RDWR);
}

} // namespace troupe::store
