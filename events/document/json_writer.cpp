#include "events/document/json_writer.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <iterator>

namespace pmc {

void JsonWriter::newline(size_t depth) {
  out_.push_back('\n');
  for (size_t i = 0; i < depth; ++i) {
    out_.push_back(' ');
    out_.push_back(' ');
  }
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (levels_.empty()) return;
  Level& level = levels_.back();
  if (!level.empty) {
    out_.push_back(',');
    if (!level.multiline) out_.push_back(' ');
  }
  if (level.multiline) newline(levels_.size());
  level.empty = false;
}

void JsonWriter::open(char bracket, bool multiline) {
  before_value();
  out_.push_back(bracket);
  levels_.push_back({multiline, true});
}

void JsonWriter::close(char bracket) {
  Level level = levels_.back();
  levels_.pop_back();
  if (level.multiline && !level.empty) newline(levels_.size());
  out_.push_back(bracket);
}

void JsonWriter::key(std::string_view name) {
  before_value();
  out_.push_back('"');
  out_.append(name);
  out_.append("\": ", 3);
  after_key_ = true;
}

void JsonWriter::value(std::string_view s) {
  before_value();
  append_json_string(out_, s);
}

void JsonWriter::value(double v) {
  before_value();
  append_json_number(out_, v);
}

char* write_json_number(char* p, double v) {
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  // Counts and scales are mostly whole numbers: below 2^53 they print exactly as integers, which
  // is the shortest round-trip form too, and several times faster than the general algorithm.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    fmt::format_int digits(static_cast<long long>(v));
    if (v == 0 && std::signbit(v)) *p++ = '-';
    std::memcpy(p, digits.data(), digits.size());
    p += digits.size();
    std::memcpy(p, ".0", 2);
    return p + 2;
  }
  char* start = p;
  p = fmt::format_to(p, FMT_COMPILE("{}"), v);
  if (std::find_if(start, p, [](char c) { return c == '.' || c == 'e'; }) == p) {
    std::memcpy(p, ".0", 2);
    p += 2;
  }
  return p;
}

void append_json_number(std::string& out, double v) {
  char text[kJsonNumberMax];
  out.append(text, size_t(write_json_number(text, v) - text));
}

void JsonWriter::value(int64_t v) {
  before_value();
  fmt::format_int digits(v);
  out_.append(digits.data(), digits.size());
}

void JsonWriter::value(uint64_t v) {
  before_value();
  fmt::format_int digits(v);
  out_.append(digits.data(), digits.size());
}

void JsonWriter::value(bool v) {
  before_value();
  if (v)
    out_.append("true", 4);
  else
    out_.append("false", 5);
}

void JsonWriter::null() {
  before_value();
  out_.append("null", 4);
}

void JsonWriter::string_array(std::string_view name, const std::vector<std::string>& items) {
  key(name);
  begin_array();
  for (const auto& s : items) value(s);
  end_array();
}

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  if (c < 0xC2 || c > 0xF4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = byte(i + 1);
  if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
  if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
  if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
  if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
  return n;
}

}  // namespace

namespace {

// Bytes copied as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[size_t(c)] = c != '"' && c != '\\';
  return plain;
}();

// Whether none of the 8 bytes of `x` needs escaping: no control byte, '"', '\\' or byte of
// 0x80 and above (which the bytewise loop checks as UTF-8). The tests can report a byte that
// does not need it, after one that does, which only sends the word to the bytewise loop.
bool plain_word(uint64_t x) {
  constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return (v - ones) & ~v & highs; };
  uint64_t below_space = (x - 0x20 * ones) & ~x & highs;
  return ((x & highs) | below_space | has_zero(x ^ ('"' * ones)) | has_zero(x ^ ('\\' * ones))) ==
         0;
}

}  // namespace

char* write_json_string(char* p, std::string_view s) {
  *p++ = '"';
  size_t plain = 0;  // start of the run of bytes copied as they are
  auto flush = [&](size_t end) {
    std::memcpy(p, s.data() + plain, end - plain);
    p += end - plain;
  };
  auto put = [&](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  for (size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size()) {  // names and units are mostly plain: 8 bytes at a time
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (plain_word(word)) {
        i += 8;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (kPlain[c]) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = utf8_length(s, i); n != 0) {
        i += n;
        continue;
      }
      flush(i);
      put("\xEF\xBF\xBD");  // U+FFFD
      plain = ++i;
      continue;
    }
    flush(i);
    switch (c) {
      case '"':
        put("\\\"");
        break;
      case '\\':
        put("\\\\");
        break;
      case '\n':
        put("\\n");
        break;
      case '\r':
        put("\\r");
        break;
      case '\t':
        put("\\t");
        break;
      case '\b':
        put("\\b");
        break;
      case '\f':
        put("\\f");
        break;
      default:
        p = fmt::format_to(p, FMT_COMPILE("\\u{:04x}"), unsigned(c));
    }
    plain = ++i;
  }
  flush(s.size());
  *p++ = '"';
  return p;
}

void append_json_string(std::string& out, std::string_view s) {
  size_t size = out.size();
  out.resize(size + json_string_max(s));
  out.resize(size_t(write_json_string(out.data() + size, s) - out.data()));
}

}  // namespace pmc
