#include "store/data_channel.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/net/tls_context.hpp"
#include "store/allocator.hpp"
#include "store/object_store.hpp"

using namespace troupe::store;
using namespace std::chrono_literals;
using troupe::object_id;

namespace {

constexpr std::size_t mib = 1024 * 1024;

std::byte pattern(std::size_t i) {
  return static_cast<std::byte>((i * 131 + 7) & 0xff);
}

/// A node's store holding one sealed object of `size` patterned bytes, and
/// its data server.
struct source {
  heap_allocator heap{64 * mib};
  object_store store{heap};
  std::atomic<int> released{0};
  data_server server;
  object_id id{7, 1};
  std::uint64_t offset = 0;
  std::uint16_t port = 0;

  explicit source(std::size_t size, std::shared_ptr<troupe::net::tls_context> tls = nullptr)
    : server{store,
             [this](std::uint64_t offset) {
               store.unpin(offset);
               ++released;
             },
             std::move(tls)} {
    auto w = store.create(id, size, 0, "bytes", troupe::encoding::raw_array);
    for (std::size_t i = 0; i < size; ++i)
      w.data[i] = pattern(i);
    store.seal(w.offset);
    offset = w.offset;
    port = server.listen("127.0.0.1");
    REQUIRE(port != 0);
  }
};

/// Waits until the server has given back `count` pins. It does so after the
/// last byte of a reply left, which can be after the puller has read it.
bool released_within(const source& src, int count, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (src.released < count && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  return src.released == count;
}

/// A peer that plays the source by hand: accepts one puller, reads its
/// hello and first request, then runs `act` on the connection.
struct fake_source {
  int listener = -1;
  std::uint16_t port = 0;
  std::atomic<bool> asked{false};
  std::promise<void> finish; ///< `act` may wait for it before closing
  std::thread thread;

  explicit fake_source(std::function<void(int fd, std::uint64_t length)> act) {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this, act] {
      int fd = ::accept(listener, nullptr, nullptr);
      std::uint64_t hello[3], request[5];
      if (fd >= 0 && ::recv(fd, hello, sizeof(hello), MSG_WAITALL) == sizeof(hello) &&
          ::recv(fd, request, sizeof(request), MSG_WAITALL) == sizeof(request)) {
        asked = true;
        act(fd, request[4]);
      }
      if (fd >= 0)
        ::close(fd);
    });
  }
  ~fake_source() {
    thread.join();
    ::close(listener);
  }
};

/// Sends a reply header for `length` bytes, then `sent` of them.
void send_part(int fd, std::uint64_t length, std::size_t sent) {
  std::uint64_t header[2] = {0, length};
  ::send(fd, header, sizeof(header), MSG_NOSIGNAL);
  std::vector<char> bytes(sent, 'x');
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

} // namespace

TEST_CASE("a puller reads an object's bytes from the source's data server into place") {
  source src(5 * mib + 123);
  data_client client;
  REQUIRE(client.connect("127.0.0.1", src.port, src.server.key()) == "");
  std::vector<std::byte> copy(5 * mib + 123);
  CHECK(client.read(src.offset, src.id, 0, copy.size(), copy.data()) == "");
  bool same = true;
  for (std::size_t i = 0; i < copy.size(); ++i)
    same = same && copy[i] == pattern(i);
  CHECK(same);
  // A range of it, over the same connection.
  std::vector<std::byte> part(1000);
  CHECK(client.read(src.offset, src.id, 3 * mib, part.size(), part.data()) == "");
  CHECK(part[0] == pattern(3 * mib));
  CHECK(part[999] == pattern(3 * mib + 999));
  // Every pin the server took for a send was given back.
  CHECK(released_within(src, 2, 5s));
  CHECK(src.store.pins(src.offset) == 1);
}

TEST_CASE("a source refuses an object it does not hold and a range outside one; the "
          "puller connects again") {
  source src(2 * mib);
  data_client client;
  std::vector<std::byte> copy(2 * mib);
  REQUIRE(client.connect("127.0.0.1", src.port, src.server.key()) == "");
  auto gone = client.read(src.offset, object_id{7, 2}, 0, 100, copy.data());
  CHECK(gone.find("no longer holds") != std::string::npos);
  REQUIRE(client.connect("127.0.0.1", src.port, src.server.key()) == "");
  auto outside = client.read(src.offset, src.id, 2 * mib - 10, 11, copy.data());
  CHECK(outside.find("refused") != std::string::npos);
  REQUIRE(client.connect("127.0.0.1", src.port, src.server.key()) == "");
  CHECK(client.read(src.offset, src.id, 0, copy.size(), copy.data()) == "");
  CHECK(copy[12345] == pattern(12345));
  CHECK(released_within(src, 3, 5s)); // each request pinned once, refused or not
  CHECK(src.store.pins(src.offset) == 1);
}

TEST_CASE("a puller with the wrong key gets no bytes") {
  source src(1 * mib);
  data_client client;
  REQUIRE(client.connect("127.0.0.1", src.port, src.server.key() + 1) == "");
  std::vector<std::byte> copy(1 * mib);
  CHECK(client.read(src.offset, src.id, 0, copy.size(), copy.data()) != "");
  CHECK(src.released == 0);
}

TEST_CASE("a source that dies in the middle of an object fails the read, naming how far "
          "it got") {
  fake_source fake([](int fd, std::uint64_t length) { send_part(fd, length, 300000); });
  data_client client;
  REQUIRE(client.connect("127.0.0.1", fake.port, 1) == "");
  std::vector<std::byte> copy(4 * mib);
  auto why = client.read(64, object_id{1, 1}, 0, copy.size(), copy.data());
  INFO(why);
  CHECK(why.find("stopped after 300000 of 4194304 bytes") != std::string::npos);
}

TEST_CASE("a source that stops sending without closing fails the read after the stall "
          "time") {
  fake_source fake([&](int fd, std::uint64_t length) {
    send_part(fd, length, 1000);
    fake.finish.get_future().wait(); // silent, the connection open
  });
  data_client client(nullptr, 200ms);
  REQUIRE(client.connect("127.0.0.1", fake.port, 1) == "");
  std::vector<std::byte> copy(1 * mib);
  auto why = client.read(64, object_id{1, 1}, 0, copy.size(), copy.data());
  fake.finish.set_value();
  INFO(why);
  CHECK(why.find("no bytes for 200 ms") != std::string::npos);
}

TEST_CASE("cancel makes a read blocked on a silent source return") {
  fake_source fake([&](int fd, std::uint64_t) { fake.finish.get_future().wait(); });
  data_client client; // a stall time of 30 s: only cancel ends the read soon
  REQUIRE(client.connect("127.0.0.1", fake.port, 1) == "");
  std::vector<std::byte> copy(1 * mib);
  auto read = std::async(std::launch::async, [&] {
    return client.read(64, object_id{1, 1}, 0, copy.size(), copy.data());
  });
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!fake.asked && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  REQUIRE(fake.asked);
  client.cancel();
  REQUIRE(read.wait_for(20s) == std::future_status::ready);
  CHECK(read.get() != "");
  fake.finish.set_value();
  // The source is gone for good: the reads queued behind fail at once.
  CHECK(client.connect("127.0.0.1", fake.port, 1).find("cancelled") != std::string::npos);
}

TEST_CASE("a stopped server ends its connections: the next read fails") {
  source src(1 * mib);
  data_client client;
  REQUIRE(client.connect("127.0.0.1", src.port, src.server.key()) == "");
  std::vector<std::byte> copy(1 * mib);
  REQUIRE(client.read(src.offset, src.id, 0, copy.size(), copy.data()) == "");
  src.server.stop();
  CHECK(client.read(src.offset, src.id, 0, copy.size(), copy.data()) != "");
  CHECK(client.connect("127.0.0.1", src.port, src.server.key()) != "");
}

TEST_CASE("with TLS, a puller of the cluster reads; one of another cluster, or without "
          "TLS, is refused, and the source goes on serving") {
  using namespace troupe::net;
  auto token = cluster_token::generate();
  auto ctx = [](const cluster_token& t) {
    return std::make_shared<tls_context>(issue_credentials(t, "node"));
  };
  source src(3 * mib, ctx(token));
  std::vector<std::byte> copy(3 * mib);
  {
    data_client rogue{ctx(cluster_token::generate()), 2s};
    auto why = rogue.connect("127.0.0.1", src.port, src.server.key());
    if (why.empty()) // TLS 1.3: the client may finish before the server refuses
      why = rogue.read(src.offset, src.id, 0, copy.size(), copy.data());
    CHECK(why != "");
  }
  {
    data_client plain{nullptr, 2s};
    auto why = plain.connect("127.0.0.1", src.port, src.server.key());
    if (why.empty())
      why = plain.read(src.offset, src.id, 0, copy.size(), copy.data());
    CHECK(why != "");
  }
  data_client member{ctx(token)};
  REQUIRE(member.connect("127.0.0.1", src.port, src.server.key()) == "");
  REQUIRE(member.read(src.offset, src.id, 0, copy.size(), copy.data()) == "");
  bool same = true;
  for (std::size_t i = 0; i < copy.size(); ++i)
    same = same && copy[i] == pattern(i);
  CHECK(same);
  CHECK(released_within(src, 1, 5s)); // the rogues got no object
}
