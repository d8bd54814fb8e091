// Unit tests of troupe/codec.hpp: values to bytes and back, without an actor
// system (no client is initialised in this program).
#include "troupe/codec.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>
#include <caf/meta/type_name.hpp>
#include <doctest/doctest.h>

#include "troupe/errors.hpp"
#include "troupe/shared_array.hpp"
#include "troupe/task.hpp"

std::uint64_t troupe_test_seed();

namespace codec_test {

/// A user type with CAF's `inspect` convention.
struct sample {
  std::int32_t id = 0;
  std::string label;
  std::vector<double> weights;
  std::vector<std::string> tags;

  friend bool operator==(const sample&, const sample&) = default;
};

template <class I>
typename I::result_type inspect(I& f, sample& x) {
  return f(caf::meta::type_name("codec_test.sample"), x.id, x.label, x.weights, x.tags);
}

} // namespace codec_test

namespace {

using troupe::encoding;
using troupe::detail::codec;
using troupe::detail::encoded_value;
using troupe::detail::raw_value;

/// Returns the view a reader would get of `v` (the bytes stay in `v`).
raw_value view_of(const encoded_value& v) {
  raw_value r;
  r.enc = v.enc;
  r.type_hash = v.type_hash;
  r.type_name = v.type_name;
  r.data = v.data();
  r.size = v.size();
  return r;
}

template <class T>
T round_trip(const T& x) {
  auto enc = troupe::detail::encode(x);
  return codec<T>::decode(view_of(enc));
}

} // namespace

TEST_CASE("codec works without an actor system") {
  CHECK(troupe::detail::serialization_system() == nullptr);
  auto v = troupe::detail::encode(std::string{"no system needed"});
  CHECK(v.enc == encoding::caf_binary);
  CHECK_FALSE(v.buffer.empty());
}

TEST_CASE("an int survives a round trip through the binary encoding") {
  for (std::int32_t x : {0, 1, -1, 42, INT32_MIN, INT32_MAX}) {
    auto v = troupe::detail::encode(x);
    CHECK(v.enc == encoding::caf_binary);
    CHECK(v.type_hash == codec<std::int32_t>::type_hash);
    CHECK(v.type_name == "int");
    CHECK(v.raw == nullptr);
    CHECK(codec<std::int32_t>::decode(view_of(v)) == x);
  }
}

TEST_CASE("a string survives a round trip, including empty and binary text") {
  std::string binary{"a\0b\xff", 4};
  for (const std::string& s :
       {std::string{}, std::string{"hello, troupe"}, binary, std::string(100000, 'x')})
    CHECK(round_trip(s) == s);
}

TEST_CASE("a vector of strings survives a round trip") {
  std::vector<std::string> xs{"alpha", "", "gamma delta", std::string(3000, 'z')};
  CHECK(round_trip(xs) == xs);
  CHECK(round_trip(std::vector<std::string>{}).empty());
}

TEST_CASE("a user struct with an inspect overload survives a round trip") {
  codec_test::sample x{7, "seven", {0.5, -1.25, 1e300}, {"a", "bb"}};
  auto v = troupe::detail::encode(x);
  CHECK(v.enc == encoding::caf_binary);
  CHECK(v.type_name.find("sample") != std::string_view::npos);
  auto y = codec<codec_test::sample>::decode(view_of(v));
  CHECK(y == x);
}

TEST_CASE("a vector of doubles is encoded as a raw array that borrows its bytes") {
  auto seed = troupe_test_seed();
  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<double> dist{-1e6, 1e6};
  std::vector<double> xs(1000);
  for (auto& x : xs)
    x = dist(rng);
  auto v = troupe::detail::encode(xs);
  CHECK(v.enc == encoding::raw_array);
  CHECK(v.raw == reinterpret_cast<const std::byte*>(xs.data()));
  CHECK(v.raw_size == xs.size() * sizeof(double));
  CHECK(v.buffer.empty());
  CHECK(v.data() == reinterpret_cast<const std::byte*>(xs.data()));
  CHECK(v.size() == xs.size() * sizeof(double));
  auto ys = codec<std::vector<double>>::decode(view_of(v));
  CHECK(ys == xs);
  CHECK(ys.data() != xs.data()); // a vector is a copy

  SUBCASE("own() copies the borrowed bytes") {
    v.own();
    CHECK(v.raw == nullptr);
    CHECK(v.buffer.size() == xs.size() * sizeof(double));
    CHECK(v.data() != reinterpret_cast<const std::byte*>(xs.data()));
    xs[0] += 1; // the owned copy no longer follows the source
    auto zs = codec<std::vector<double>>::decode(view_of(v));
    CHECK(zs.size() == xs.size());
    CHECK(zs[0] == xs[0] - 1);
  }
}

TEST_CASE("an empty vector of doubles survives a round trip") {
  std::vector<double> xs;
  auto v = troupe::detail::encode(xs);
  CHECK(v.size() == 0);
  CHECK(codec<std::vector<double>>::decode(view_of(v)).empty());
  CHECK(codec<troupe::shared_array<double>>::decode(view_of(v)).empty());
}

TEST_CASE("a vector of doubles decodes as a shared_array without a copy") {
  std::vector<double> xs{1.5, 2.5, 3.5, 4.5};
  auto v = troupe::detail::encode(xs);
  auto r = view_of(v);
  auto keep = std::make_shared<int>(0);
  r.keepalive = keep;
  auto arr = codec<troupe::shared_array<double>>::decode(r);
  CHECK(static_cast<const void*>(arr.data()) == static_cast<const void*>(r.data));
  CHECK(arr.size() == xs.size());
  CHECK(arr.to_vector() == xs);
  // The array holds the reader's keepalive (a pin on the stored object).
  CHECK(keep.use_count() == 3);
  r.keepalive.reset();
  CHECK(keep.use_count() == 2);
  arr = {};
  CHECK(keep.use_count() == 1);
}

TEST_CASE("decoding as the wrong type throws argument_type_error naming both types") {
  auto v = troupe::detail::encode(std::int32_t{5});
  try {
    codec<std::string>::decode(view_of(v));
    FAIL("decoding an int as a string did not throw");
  } catch (const troupe::argument_type_error& e) {
    CHECK(e.kind() == troupe::error_kind::argument_type);
    std::string what = e.what();
    CHECK(what.find("holds int") != std::string::npos);
    CHECK(what.find(std::string{codec<std::string>::name}) != std::string::npos);
  }

  std::vector<double> doubles{1, 2}; // a raw array borrows: keep it alive
  auto d = troupe::detail::encode(doubles);
  try {
    codec<std::vector<float>>::decode(view_of(d));
    FAIL("decoding doubles as floats did not throw");
  } catch (const troupe::argument_type_error& e) {
    std::string what = e.what();
    CHECK(what.find("double") != std::string::npos);
    CHECK(what.find("float") != std::string::npos);
  }

  CHECK_THROWS_AS(codec<std::int32_t>::decode(view_of(d)), troupe::argument_type_error);
  CHECK_THROWS_AS(codec<std::vector<double>>::decode(view_of(v)),
                  troupe::argument_type_error);
}

TEST_CASE("a raw-array type hash with the binary encoding is rejected") {
  std::vector<double> doubles{1, 2}; // a raw array borrows: keep it alive
  auto d = troupe::detail::encode(doubles);
  auto r = view_of(d);
  r.enc = encoding::caf_binary;
  CHECK_THROWS_AS(codec<std::vector<double>>::decode(r), troupe::argument_type_error);
  CHECK_THROWS_AS(codec<troupe::shared_array<double>>::decode(r),
                  troupe::argument_type_error);
}

TEST_CASE(
    "truncated binary bytes throw a protocol error instead of reading past the end") {
  auto v = troupe::detail::encode(std::string{"a string of some length"});
  auto r = view_of(v);
  r.size = 3; // the length prefix claims more than is there
  try {
    codec<std::string>::decode(r);
    FAIL("a truncated string decoded");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::protocol);
    CHECK(std::string{e.what()}.find("cannot deserialize") != std::string::npos);
  }
}

TEST_CASE("vector and shared_array of one element type share a type hash") {
  CHECK(codec<std::vector<double>>::type_hash ==
        codec<troupe::shared_array<double>>::type_hash);
  CHECK(codec<std::vector<std::int64_t>>::type_hash ==
        codec<troupe::shared_array<std::int64_t>>::type_hash);
  CHECK(codec<std::vector<double>>::type_hash != codec<std::vector<float>>::type_hash);
  CHECK(codec<troupe::shared_array<double>>::type_hash !=
        codec<troupe::shared_array<float>>::type_hash);
  CHECK(codec<std::vector<std::int32_t>>::type_hash !=
        codec<std::vector<std::uint32_t>>::type_hash);
  // A raw array is not the same type as its element.
  CHECK(codec<std::vector<double>>::type_hash != codec<double>::type_hash);
  // vector<bool> and vectors of non-arithmetic types use the binary encoding.
  CHECK(codec<std::vector<bool>>::enc == encoding::caf_binary);
  CHECK(codec<std::vector<std::string>>::enc == encoding::caf_binary);
}

TEST_CASE("the void marker encodes to nothing and decodes only as void") {
  auto v = troupe::detail::encode(troupe::detail::unit_value{});
  CHECK(v.size() == 0);
  CHECK(v.type_name == "void");
  CHECK_NOTHROW(codec<troupe::detail::unit_value>::decode(view_of(v)));
  CHECK_THROWS_AS(codec<std::int32_t>::decode(view_of(v)), troupe::argument_type_error);
}

namespace codec_test {

/// Converts to the parameter type of a task, as user types may.
struct readings {
  double a = 0, b = 0;
  operator std::vector<double>() const { return {a, b}; }
};

} // namespace codec_test

TEST_CASE("an argument converted to a raw-array parameter owns its bytes") {
  // task.hpp add_arg encodes `param(arg)`, a temporary that dies at the end of
  // the statement; a raw array only borrows its bytes, so the argument would
  // point at freed memory by the time the client calls own() on it.
  std::vector<troupe::detail::task_arg> args;
  troupe::detail::add_arg<std::vector<double>>(args, codec_test::readings{1.5, 2.5});
  REQUIRE(args.size() == 1);
  CHECK(args[0].value.enc == encoding::raw_array);
  CHECK(args[0].value.raw == nullptr); // must own, or the bytes are gone
  if (args[0].value.raw == nullptr) {
    auto back = codec<std::vector<double>>::decode(view_of(args[0].value));
    CHECK(back == std::vector<double>{1.5, 2.5});
  }
}

TEST_CASE("an argument of the parameter's own type borrows until the client owns it") {
  std::vector<troupe::detail::task_arg> args;
  std::vector<double> xs{3, 4, 5};
  troupe::detail::add_arg<std::vector<double>>(args, xs);
  REQUIRE(args.size() == 1);
  CHECK(args[0].value.raw == reinterpret_cast<const std::byte*>(xs.data()));
  args[0].value.own();
  xs.assign(3, 0);
  CHECK(codec<std::vector<double>>::decode(view_of(args[0].value)) ==
        std::vector<double>{3, 4, 5});
}

namespace codec_test {

/// A user type holding floating-point fields (not a raw array: CAF's format).
struct reading {
  double value = 0;
  float gain = 0;
  std::map<std::string, double> limits;
};

template <class I>
typename I::result_type inspect(I& f, reading& x) {
  return f(caf::meta::type_name("codec_test.reading"), x.value, x.gain, x.limits);
}

/// A user type holding bytes (a field: CAF's format, not a raw array).
struct blob {
  std::vector<char> bytes;
};

template <class I>
typename I::result_type inspect(I& f, blob& x) {
  return f(caf::meta::type_name("codec_test.blob"), x.bytes);
}

} // namespace codec_test

TEST_CASE("infinities, NaN and subnormal numbers survive a round trip") {
  // CAF 0.17's own conversion never returns for an infinity (the encode
  // hung), has no NaN and loses subnormals.
  using limits = std::numeric_limits<double>;
  codec_test::reading r{limits::infinity(), -std::numeric_limits<float>::infinity(),
                        {{"low", -limits::infinity()}, {"tiny", limits::denorm_min()},
                         {"nan", limits::quiet_NaN()}, {"pi", 3.141592653589793}}};
  auto back = round_trip(r);
  CHECK(back.value == limits::infinity());
  CHECK(back.gain == -std::numeric_limits<float>::infinity());
  CHECK(back.limits.at("low") == -limits::infinity());
  CHECK(back.limits.at("tiny") == limits::denorm_min());
  CHECK(std::isnan(back.limits.at("nan")));
  CHECK(back.limits.at("pi") == 3.141592653589793);
}

TEST_CASE("bytes that claim a huge vector are a codec error, not a huge allocation") {
  // A blob whose std::vector<char> claims 2^32 - 1 bytes, in 5 bytes of
  // length and two of data: CAF 0.17 allocated and zeroed 4 GiB before it
  // found the bytes missing.
  auto small = troupe::detail::encode(codec_test::blob{{'a', 'b'}});
  auto v = view_of(small);
  std::vector<char> bytes{'\xff', '\xff', '\xff', '\xff', '\x0f', 'a', 'b'};
  v.data = reinterpret_cast<const std::byte*>(bytes.data());
  v.size = bytes.size();
  CHECK(round_trip(codec_test::blob{{'a', 'b'}}).bytes == std::vector<char>{'a', 'b'});
  try {
    codec<codec_test::blob>::decode(v);
    FAIL("decoded a vector of 4 GiB from 7 bytes");
  } catch (const troupe::error& e) {
    CHECK(std::string{e.what()}.find("claims 4294967295 elements") != std::string::npos);
  }
}

TEST_CASE("the value format writes what CAF's binary serializer writes, and reads it back") {
  // The same bytes for every normal number, string and sequence: only
  // infinities, NaN and subnormals differ (CAF cannot write them).
  codec_test::sample s{-42, "label ü", {1.5, -2.25e300, 3e-300}, {"a", "", "ccc"}};
  std::u16string wide = u"wide";
  std::vector<char> ours;
  std::vector<char> cafs;
  troupe::detail::value_serializer{nullptr, ours}(s, wide);
  caf::binary_serializer{nullptr, cafs}(s, wide);
  CHECK(ours == cafs);
  codec_test::sample back;
  std::u16string wide_back;
  auto err = troupe::detail::value_deserializer{nullptr, cafs.data(), cafs.size()}(back,
                                                                                  wide_back);
  CHECK_FALSE(err);
  CHECK(back == s);
  CHECK(wide_back == wide);
}
