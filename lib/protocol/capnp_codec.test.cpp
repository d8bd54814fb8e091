// Unit tests of the Cap'n Proto task-protocol helpers (protocol.hpp).
#include "lib/protocol/capnp_codec.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <doctest/doctest.h>

#include "lib/protocol/result_codec.hpp"
#include "task.capnp.h"
#include "troupe/errors.hpp"

std::uint64_t troupe_test_seed();

namespace {

using namespace troupe::detail;
namespace schema = troupe::schema;

stored_value inline_value(const std::string& bytes) {
  stored_value v;
  v.enc = troupe::encoding::caf_binary;
  v.type_hash = 0x0123456789abcdefULL;
  v.type_name = "demo::blob";
  v.inline_data = std::make_shared<const std::vector<char>>(bytes.begin(), bytes.end());
  return v;
}

/// Writes `v` as the root of a message and reads it back from its bytes.
stored_value value_round_trip(const stored_value& v) {
  capnp::MallocMessageBuilder builder;
  write_value(builder.initRoot<schema::Value>(), v);
  auto bytes = to_bytes(builder);
  message_reader reader{bytes};
  return read_value(reader.root<schema::Value>());
}

troupe::error_info error_round_trip(const troupe::error_info& e) {
  capnp::MallocMessageBuilder builder;
  write_error(builder.initRoot<schema::Error>(), e);
  auto bytes = to_bytes(builder);
  message_reader reader{bytes};
  return read_error(reader.root<schema::Error>());
}

/// Checks that reading `bytes` as a ResultBatch root fails as malformed.
void check_malformed(const std::vector<char>& bytes) {
  try {
    message_reader reader{bytes};
    auto root = reader.root<schema::ResultBatch>();
    (void)root;
    FAIL("bytes of size " << bytes.size() << " were read as a message");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::protocol);
    CHECK(std::string{e.what()}.find("malformed") != std::string::npos);
  }
}

} // namespace

TEST_CASE("an inline value survives write_value and read_value") {
  std::string bytes{"\x01\x02\x00payload\xff", 11};
  auto v = inline_value(bytes);
  v.enc = troupe::encoding::raw_array;
  auto r = value_round_trip(v);
  CHECK(r.enc == troupe::encoding::raw_array);
  CHECK(r.type_hash == v.type_hash);
  CHECK(r.type_name == "demo::blob");
  CHECK_FALSE(r.in_store);
  REQUIRE(r.inline_data);
  CHECK(std::string(r.inline_data->begin(), r.inline_data->end()) == bytes);
  // read_value copies: the value does not point into the message.
  CHECK(r.inline_data != v.inline_data);
}

TEST_CASE("a value without inline data reads back as an empty inline value") {
  stored_value v;
  v.type_hash = 9;
  v.type_name = "void";
  auto r = value_round_trip(v);
  CHECK_FALSE(r.in_store);
  REQUIRE(r.inline_data);
  CHECK(r.inline_data->empty());
  CHECK(r.type_hash == 9);
}

TEST_CASE("a stored value survives write_value and read_value as offset and size") {
  stored_value v;
  v.enc = troupe::encoding::raw_array;
  v.type_hash = 77;
  v.type_name = "std::vector<double>";
  v.in_store = true;
  v.offset = 0x1234567890ULL;
  v.size = 8ULL << 30;
  auto r = value_round_trip(v);
  CHECK(r.in_store);
  CHECK(r.offset == v.offset);
  CHECK(r.size == v.size);
  CHECK(r.type_hash == 77);
  CHECK(r.type_name == "std::vector<double>");
  CHECK(r.enc == troupe::encoding::raw_array);
  CHECK_FALSE(r.inline_data);
}

TEST_CASE("a value whose encoding number names no encoding is rejected as malformed") {
  capnp::MallocMessageBuilder builder;
  write_value(builder.initRoot<schema::Value>(), inline_value("x"));
  builder.getRoot<schema::Value>().setEncoding(7);
  auto bytes = to_bytes(builder);
  message_reader reader{bytes};
  try {
    read_value(reader.root<schema::Value>());
    FAIL("encoding 7 was read as a value");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::protocol);
    CHECK(std::string{e.what()}.find("unknown value encoding 7") != std::string::npos);
  }
}

TEST_CASE("an error survives write_error and read_error") {
  troupe::error_info e{troupe::error_kind::task_failed, "producer", "std::out_of_range",
                       "index 7 is out of range"};
  auto r = error_round_trip(e);
  CHECK(r.kind == troupe::error_kind::task_failed);
  CHECK(r.task_name == "producer");
  CHECK(r.exception_type == "std::out_of_range");
  CHECK(r.message == "index 7 is out of range");

  for (auto k : {troupe::error_kind::worker_crashed, troupe::error_kind::unschedulable,
                 troupe::error_kind::object_lost, troupe::error_kind::runtime,
                 troupe::error_kind::job_store_limit}) {
    e.kind = k;
    CHECK(error_round_trip(e).kind == k);
  }
}

TEST_CASE("an error of an unknown kind reads back as a protocol error") {
  constexpr auto past_last =
    static_cast<std::uint8_t>(static_cast<std::uint8_t>(troupe::error_kind::job_store_limit) + 1);
  for (std::uint8_t k : {std::uint8_t{0}, past_last, std::uint8_t{200}, std::uint8_t{255}}) {
    capnp::MallocMessageBuilder builder;
    auto b = builder.initRoot<schema::Error>();
    b.setKind(k);
    b.setMessage("strange");
    auto bytes = to_bytes(builder);
    message_reader reader{bytes};
    auto r = read_error(reader.root<schema::Error>());
    CHECK(r.kind == troupe::error_kind::protocol);
    CHECK(r.message == "strange");
  }
}

TEST_CASE("an object id survives write_object_id and read_object_id") {
  capnp::MallocMessageBuilder builder;
  troupe::object_id id{0xfeedfacecafebeefULL, 123456789};
  write_object_id(builder.initRoot<schema::ObjectId>(), id);
  auto bytes = to_bytes(builder);
  message_reader reader{bytes};
  CHECK(read_object_id(reader.root<schema::ObjectId>()) == id);
}

TEST_CASE("message_reader rejects bytes that are not a whole number of words") {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<schema::ResultBatch>().initResults(2);
  auto good = to_bytes(builder);
  REQUIRE(good.size() % 8 == 0);
  for (std::size_t cut : {1u, 3u, 7u}) {
    auto bad = good;
    bad.resize(good.size() - cut);
    CAPTURE(bad.size());
    check_malformed(bad);
  }
  auto longer = good;
  longer.push_back('\0');
  check_malformed(longer);
}

TEST_CASE("message_reader rejects random garbage") {
  auto seed = troupe_test_seed();
  std::mt19937_64 rng{seed};
  for (int i = 0; i < 200; ++i) {
    std::vector<char> bytes(8 * (1 + rng() % 32));
    for (auto& b : bytes)
      b = static_cast<char>(rng());
    // A segment table that is large enough to be read but wrong.
    if (i % 2 == 0) {
      std::uint32_t segs = static_cast<std::uint32_t>(rng() % 3);
      std::uint32_t words =
          static_cast<std::uint32_t>(bytes.size() / 8 + 1 + rng() % 100);
      std::memcpy(bytes.data(), &segs, 4);
      std::memcpy(bytes.data() + 4, &words, 4);
    }
    CAPTURE(i);
    CAPTURE(seed);
    check_malformed(bytes);
  }
}

TEST_CASE("message_reader rejects a root pointer that points outside the message") {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<schema::ResultBatch>().initResults(1);
  auto bytes = to_bytes(builder);
  // Word 1 is the root pointer: make it a struct pointer far past the end.
  std::uint64_t ptr = (std::uint64_t{1} << 32) | (std::uint64_t{0x100000} << 2);
  std::memcpy(bytes.data() + 8, &ptr, 8);
  check_malformed(bytes);
}

TEST_CASE("message_reader reads an empty message as an empty result batch") {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<schema::ResultBatch>();
  auto bytes = to_bytes(builder);
  message_reader reader{bytes};
  CHECK(reader.root<schema::ResultBatch>().getResults().size() == 0);
}

TEST_CASE("a list of 2^28 empty entries in 32 bytes is malformed, not 2^28 results") {
  // Hand-made words: a one-segment table, the root ResultBatch (no data,
  // one pointer), its `results` as a composite list of no words, and the
  // list's tag claiming 2^28 elements of size zero. Cap'n Proto charges
  // each such element one word of the traversal limit: the limit, sized by
  // the message, stops it (tests/fuzz/result_batch found 680 bytes that
  // took seconds and gigabytes to read as 2^29 results).
  std::uint64_t words[4] = {
    std::uint64_t{3} << 32,      // segment table: 1 segment of 3 words
    std::uint64_t{1} << 48,      // root: struct, offset 0, 0 data, 1 pointer
    1 | (std::uint64_t{7} << 32), // list, offset 0, inline composite, 0 words
    std::uint64_t{1} << 30,      // tag: 2^28 elements (<< 2), 0 data, 0 pointers
  };
  std::vector<char> bytes(sizeof words);
  std::memcpy(bytes.data(), words, sizeof words);
  try {
    auto results = parse_results(bytes);
    FAIL("read " << results.size() << " results from 32 bytes");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::protocol);
  }
}

namespace {

std::vector<char> results_with_ids(std::vector<std::uint64_t> ids) {
  capnp::MallocMessageBuilder b;
  auto list = b.initRoot<schema::ResultBatch>().initResults(static_cast<unsigned>(ids.size()));
  for (unsigned i = 0; i < ids.size(); ++i)
    list[i].setTaskId(ids[i]);
  return to_bytes(b);
}

void check_results_malformed(const std::vector<char>& bytes) {
  try {
    auto results = parse_results(bytes);
    FAIL("read " << results.size() << " results from " << bytes.size() << " bytes");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::protocol);
    CHECK(std::string{e.what()}.find("malformed") != std::string::npos);
  }
}

std::vector<char> back_to_back(const std::vector<std::vector<char>>& parts) {
  std::vector<char> out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

} // namespace

TEST_CASE("result batches back to back read as one, in order") {
  auto bytes = back_to_back({results_with_ids({7}), results_with_ids({3, 9}),
                             results_with_ids({}), results_with_ids({1})});
  std::vector<std::uint64_t> ids;
  for (auto& r : parse_results(bytes))
    ids.push_back(r.task_id);
  CHECK(ids == std::vector<std::uint64_t>{7, 3, 9, 1});
}

TEST_CASE("a malformed batch among those back to back makes the whole message malformed") {
  auto good = results_with_ids({1, 2});
  // Cut short: the last batch's segment table claims more than is left.
  auto cut = back_to_back({good, good});
  cut.resize(cut.size() - 8);
  check_results_malformed(cut);
  // Junk after a good batch.
  auto junk = back_to_back({good, std::vector<char>(24, '\x7f')});
  check_results_malformed(junk);
  // No bytes at all are no batch.
  check_results_malformed({});
}
