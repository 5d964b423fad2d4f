#include "json_writer.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
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

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null", 4);
    return;
  }
  // Counts and scales are mostly whole numbers: below 2^53 they print exactly as integers, which
  // is the shortest round-trip form too, and several times faster than the general algorithm.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    fmt::format_int digits(static_cast<long long>(v));
    if (v == 0 && std::signbit(v)) out.push_back('-');
    out.append(digits.data(), digits.size());
    out.append(".0", 2);
    return;
  }
  // The shortest round-trip form is at most 24 characters ("-2.2250738585072014e-308").
  char digits[32];
  char* end = fmt::format_to(digits, FMT_COMPILE("{}"), v);
  out.append(digits, size_t(end - digits));
  if (std::find_if(digits, end, [](char c) { return c == '.' || c == 'e'; }) == end)
    out.append(".0", 2);
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

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  auto flush = [&](size_t end) { out.append(s.data() + plain, end - plain); };
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = utf8_length(s, i); n != 0) {
        i += n;
        continue;
      }
      flush(i);
      out.append("\xEF\xBF\xBD");  // U+FFFD
      plain = ++i;
      continue;
    }
    flush(i);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        fmt::format_to(std::back_inserter(out), FMT_COMPILE("\\u{:04x}"), unsigned(c));
    }
    plain = ++i;
  }
  flush(s.size());
  out.push_back('"');
}

}  // namespace pmc
