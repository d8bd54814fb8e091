#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lib/net/blocking_stream.hpp"
#include "store/object_store.hpp"

struct addrinfo;
#include "troupe/object_id.hpp"

namespace troupe::store {

// The data channel: the bytes of objects pulled between nodes travel over a
// TCP connection between the two store managers (TLS with the cluster's
// certificates, unless the cluster runs --insecure), not as CAF messages.
// Measured on loopback (cross_node_put_get_gigabytes, 400 MB): CAF messages
// of 1 MiB moved 0.8-1.0 GB/s (each chunk copied into a vector, serialised,
// sent, deserialised, copied again, over CAF's own threads), 8 -> 32 in
// flight 0.81-0.86, 4 MiB chunks 0.32-0.80; one TCP stream moves 2.3-3.8
// GB/s. Here the source writes straight from the shared segment into the
// socket and the puller reads straight into its copy.
//
// The puller's manager asks the source's for the channel's port and key
// (a CAF message) and connects to the host the node directory lists:
//
//     puller -> source : hello { magic, version, key }            (once)
//     puller -> source : request { offset, id, start, length }    (repeated)
//     source -> puller : reply { status, length } + length bytes
//
// All integers little-endian 64-bit, as both ends are this build. A source
// sends an object's bytes while it holds a pin of its own, so the object
// stays whole however the puller's lent pin goes; a wrong key closes the
// connection.

/// Serves the sealed objects of a node's store to other nodes' pullers, a
/// thread per connection (one per pulling node).
class data_server {
public:
  /// `release(offset)` gives back a pin the server took for a send (the
  /// store manager's unpin, which reports a freed object). With `tls`, every
  /// connection speaks TLS with a certificate of this cluster.
  data_server(object_store& store, std::function<void(std::uint64_t)> release,
              std::shared_ptr<net::tls_context> tls = nullptr);
  ~data_server();

  data_server(const data_server&) = delete;
  data_server& operator=(const data_server&) = delete;

  /// Listens on `host` (a name or an address) at a port the OS picks and
  /// starts serving. Returns the port, or 0 when it cannot listen.
  std::uint16_t listen(const std::string& host);

  /// Returns the secret a puller must send first (random per server).
  std::uint64_t key() const noexcept { return key_; }

  /// Closes the listening socket and every connection; joins the threads.
  void stop();

private:
  struct connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void accept_loop();
  void serve(connection& c);
  bool serve_one(net::blocking_stream& stream);

  object_store& store_;
  std::function<void(std::uint64_t)> release_;
  std::shared_ptr<net::tls_context> tls_;
  std::uint64_t key_;
  int listener_ = -1;
  std::thread acceptor_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::list<connection> connections_;
};

/// A puller's connection to one source's data server. Reads block: a store
/// manager runs them on a thread of their own (data_receiver.hpp).
class data_client {
public:
  /// `stall` bounds a wait for the next bytes (or for connecting): a source
  /// that stops sending without closing (a frozen node, a cut cable) fails
  /// the read after it.
  explicit data_client(std::shared_ptr<net::tls_context> tls = nullptr,
                       std::chrono::milliseconds stall = std::chrono::seconds(30));
  ~data_client();

  data_client(const data_client&) = delete;
  data_client& operator=(const data_client&) = delete;

  /// Connects to `host`:`port` with `key`, unless connected there already.
  /// Returns an error text, empty on success.
  std::string connect(const std::string& host, std::uint16_t port, std::uint64_t key);

  /// Reads bytes [start, start + length) of the object `id` at `offset` of
  /// the source's store into `dest`. Returns an error text, empty on success
  /// (then all `length` bytes arrived). After an error the connection is
  /// closed; the next `connect` opens a new one.
  std::string read(std::uint64_t offset, const troupe::object_id& id, std::uint64_t start,
                   std::uint64_t length, std::byte* dest);

  /// Ends a blocked `connect` or `read`, and fails every later one at once:
  /// the source is gone. Safe from any thread.
  void cancel();

private:
  /// Connects to one address of the source; returns an error text.
  std::string connect_to(const addrinfo* a, const std::string& where);
  void close_locked();

  std::shared_ptr<net::tls_context> tls_;
  std::chrono::milliseconds stall_;
  std::mutex mutex_; ///< guards the members below against cancel()
  int fd_ = -1;      ///< also while connecting, so that cancel() ends that
  net::blocking_stream stream_; ///< over fd_: read() uses it unlocked
  std::string peer_; ///< host:port:key of the open connection
  bool cancelled_ = false;
};

} // namespace troupe::store
