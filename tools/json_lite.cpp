#include "tools/json_lite.hpp"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace troupe::tools {

const json_value& json_value::operator[](const std::string& key) const {
  static const json_value none;
  auto it = members.find(key);
  return it == members.end() ? none : it->second;
}

namespace {

class parser {
public:
  explicit parser(std::string_view text)
      : s_(text) {}

  json_value document() {
    auto v = value();
    skip_space();
    if (i_ != s_.size())
      fail("trailing characters");
    return v;
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("bad JSON at offset " + std::to_string(i_) + ": " + what);
  }

  void skip_space() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }

  bool take(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!take(c))
      fail(std::string{"expected '"} + c + "'");
  }

  bool take_word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w)
      return false;
    i_ += w.size();
    return true;
  }

  std::string string_body() {
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\' && i_ < s_.size()) {
        char e = s_[i_++];
        switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': // status documents hold ASCII only: keep the escape as is
          out += "\\u";
          break;
        default:
          out += e;
          break;
        }
      } else {
        out += c;
      }
    }
    if (i_ == s_.size())
      fail("unterminated string");
    ++i_;
    return out;
  }

  json_value value() {
    skip_space();
    if (i_ >= s_.size())
      fail("unexpected end");
    json_value v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.type = json_value::kind::object;
      if (take('}'))
        return v;
      do {
        expect('"');
        auto key = string_body();
        expect(':');
        v.members[key] = value();
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.type = json_value::kind::array;
      if (take(']'))
        return v;
      do
        v.items.push_back(value());
      while (take(','));
      expect(']');
    } else if (c == '"') {
      ++i_;
      v.type = json_value::kind::string;
      v.text = string_body();
    } else if (take_word("true") || take_word("false")) {
      v.type = json_value::kind::boolean;
      v.boolean = c == 't';
    } else if (take_word("null")) {
      v.type = json_value::kind::null;
    } else {
      std::string num{s_.substr(i_, 40)};
      char* end = nullptr;
      v.number = std::strtod(num.c_str(), &end);
      if (end == num.c_str())
        fail("unexpected character");
      v.type = json_value::kind::number;
      i_ += static_cast<std::size_t>(end - num.c_str());
    }
    return v;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

} // namespace

json_value parse_json(std::string_view text) {
  return parser{text}.document();
}

std::string format_number(double x) {
  std::ostringstream out;
  if (x == static_cast<double>(static_cast<long long>(x)))
    out << static_cast<long long>(x);
  else
    out << x;
  return out.str();
}

} // namespace troupe::tools
