#pragma once

// Helpers for the Cap'n Proto task protocol (lib/protocol/task.capnp).

#include <memory>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "task.capnp.h"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/stored_value.hpp"

namespace troupe::detail {

/// Returns the message's bytes as carried in CAF messages.
std::vector<char> to_bytes(capnp::MessageBuilder& builder);

/// A string as Cap'n Proto text, by its size: the conversion Cap'n Proto
/// offers from std::string measures it again with strlen.
inline capnp::Text::Reader as_text(const std::string& s) {
  return {s.data(), s.size()};
}

/// The first segment, in words, of a message with `items` list elements of
/// about `words_each` words: Cap'n Proto's default is 1,024 words, zeroed
/// on every message, which costs a small message (a call, a result) more
/// than its content. A bigger message grows by further segments.
constexpr unsigned first_segment_words(std::size_t items, std::size_t words_each) {
  constexpr std::size_t header = 16, most = 8192;
  auto words = header + items * words_each;
  return static_cast<unsigned>(words < most ? words : most);
}

/// The reader options for a message of `words` words from another process
/// or from storage: its reader may do work in proportion to its size, no
/// more.
capnp::ReaderOptions reader_options(std::size_t words);

/// Returns `bytes` as the words of one or more messages; throws
/// `troupe::error` (protocol) if they are not a whole number of aligned
/// words.
kj::ArrayPtr<const capnp::word> words_of(const std::vector<char>& bytes);

/// Reads a message from bytes received from another process; throws
/// `troupe::error` (protocol) for bytes that are not a valid message.
class message_reader {
public:
  explicit message_reader(const std::vector<char>& bytes);

  template <class T>
  typename T::Reader root() {
    try {
      return reader_->getRoot<T>();
    } catch (const kj::Exception& e) {
      // The description, not what(): that carries a stack of addresses.
      throw_malformed(e.getDescription().cStr());
    }
  }

  [[noreturn]] static void throw_malformed(const char* why);

private:
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

void write_object_id(schema::ObjectId::Builder b, const object_id& id);
object_id read_object_id(schema::ObjectId::Reader r);

/// Returns the value's encoding; throws `troupe::error` (protocol) for a
/// number that names none.
encoding read_encoding(schema::Value::Reader r);

/// Writes an inline or stored value.
void write_value(schema::Value::Builder b, const stored_value& v);
/// Copies a value out of a message (inline bytes are copied).
stored_value read_value(schema::Value::Reader r);

void write_error(schema::Error::Builder b, const error_info& e);
error_info read_error(schema::Error::Reader r);

} // namespace troupe::detail
