#include "lib/protocol/capnp_codec.hpp"

#include <cstring>

#include <kj/io.h>

namespace troupe::detail {

std::vector<char> to_bytes(capnp::MessageBuilder& builder) {
  // Written in place: messageToFlatArray would build a copy to copy again.
  auto segments = builder.getSegmentsForOutput();
  std::vector<char> out(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word));
  kj::ArrayOutputStream stream{
    kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size())};
  capnp::writeMessage(stream, segments);
  return out;
}

capnp::ReaderOptions reader_options(std::size_t words) {
  capnp::ReaderOptions opts;
  // Cap'n Proto charges each element of a list of empty structs one word:
  // without a limit this close, 680 bytes read as a list of 2^29 results
  // (tests/fuzz/result_batch found it: seconds of work and gigabytes of
  // results). troupe's readers read each word of a message a few times at
  // most (a task's name twice, say): eight times is room to spare.
  opts.traversalLimitInWords = 8 * words + 4096;
  return opts;
}

kj::ArrayPtr<const capnp::word> words_of(const std::vector<char>& bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0
      || reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) != 0)
    message_reader::throw_malformed("size is not a whole number of words");
  return {reinterpret_cast<const capnp::word*>(bytes.data()),
          bytes.size() / sizeof(capnp::word)};
}

message_reader::message_reader(const std::vector<char>& bytes) {
  auto words = words_of(bytes);
  try {
    reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words,
                                                              reader_options(words.size()));
  } catch (const kj::Exception& e) {
    throw_malformed(e.getDescription().cStr());
  }
}

void message_reader::throw_malformed(const char* why) {
  throw error(error_kind::protocol,
              std::string("malformed task-protocol message: ") + why);
}

void write_object_id(schema::ObjectId::Builder b, const object_id& id) {
  b.setOwner(id.owner);
  b.setSeq(id.seq);
}

object_id read_object_id(schema::ObjectId::Reader r) {
  return {r.getOwner(), r.getSeq()};
}

void write_value(schema::Value::Builder b, const stored_value& v) {
  b.setEncoding(static_cast<std::uint8_t>(v.enc));
  b.setTypeHash(v.type_hash);
  b.setTypeName(v.type_name);
  if (v.in_store) {
    auto s = b.initStored();
    s.setOffset(v.offset);
    s.setSize(v.size);
    s.setNode(v.node);
    write_object_id(s.initId(), v.id);
    s.setTransit(v.transit);
  } else if (v.inline_data) {
    b.setInline(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(v.inline_data->data()),
                             v.inline_data->size()));
  } else {
    b.initInline(0);
  }
}

encoding read_encoding(schema::Value::Reader r) {
  auto e = r.getEncoding();
  if (!is_encoding(e))
    message_reader::throw_malformed(("unknown value encoding " + std::to_string(e)).c_str());
  return static_cast<encoding>(e);
}

stored_value read_value(schema::Value::Reader r) {
  stored_value v;
  v.enc = read_encoding(r);
  v.type_hash = r.getTypeHash();
  v.type_name = r.getTypeName();
  if (r.isStored()) {
    v.in_store = true;
    v.offset = r.getStored().getOffset();
    v.size = r.getStored().getSize();
    v.node = r.getStored().getNode();
    v.id = read_object_id(r.getStored().getId());
    v.transit = r.getStored().getTransit();
  } else {
    auto d = r.getInline();
    v.inline_data = std::make_shared<const std::vector<char>>(
      reinterpret_cast<const char*>(d.begin()), reinterpret_cast<const char*>(d.end()));
  }
  return v;
}

void write_error(schema::Error::Builder b, const error_info& e) {
  b.setKind(static_cast<std::uint8_t>(e.kind));
  b.setTaskName(e.task_name);
  b.setExceptionType(e.exception_type);
  b.setMessage(e.message);
}

error_info read_error(schema::Error::Reader r) {
  error_info e;
  auto k = r.getKind();
  e.kind = k >= 1 && k <= static_cast<std::uint8_t>(error_kind::job_store_limit)
             ? static_cast<error_kind>(k)
             : error_kind::protocol;
  e.task_name = r.getTaskName();
  e.exception_type = r.getExceptionType();
  e.message = r.getMessage();
  return e;
}

} // namespace troupe::detail
