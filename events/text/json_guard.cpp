#include "events/text/json_guard.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

namespace pmc {
namespace {

// One open object or array. An object's keys are looked up in a list while it has few (a
// measurement's event has 10) and in a set beyond that; frames are reused, not reallocated, as
// the parser goes in and out of a long array of intervals.
struct Frame {
  bool object = false;
  bool expect_key = false;
  std::vector<std::string_view> keys;
  std::unordered_set<std::string_view> key_set;

  void reset(bool is_object) {
    object = is_object;
    expect_key = is_object;
    keys.clear();
    key_set.clear();
  }
  // False when `key` was already there.
  bool add(std::string_view key) {
    constexpr size_t kListKeys = 16;
    if (key_set.empty()) {
      for (auto k : keys)
        if (k == key) return false;
      keys.push_back(key);
      if (keys.size() > kListKeys) key_set.insert(keys.begin(), keys.end());
      return true;
    }
    return key_set.insert(key).second;
  }
};

// The escapes of a key decoded, so that "\u0074arget" and "target" are one key. Kept in a
// std::string owned by the caller; invalid escapes are left as written (the parser refuses them).
std::string decode_key(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      out += raw[i];
      continue;
    }
    char c = raw[++i];
    switch (c) {
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
      case 'u':
        if (i + 4 < raw.size()) {
          unsigned code =
              unsigned(std::strtoul(std::string(raw.substr(i + 1, 4)).c_str(), nullptr, 16));
          // Code points are compared as their UTF-8 bytes; surrogate pairs as their two halves.
          if (code < 0x80) {
            out += char(code);
          } else if (code < 0x800) {
            out += char(0xC0 | (code >> 6));
            out += char(0x80 | (code & 0x3F));
          } else {
            out += char(0xE0 | (code >> 12));
            out += char(0x80 | ((code >> 6) & 0x3F));
            out += char(0x80 | (code & 0x3F));
          }
          i += 4;
        } else {
          out += "\\u";
        }
        break;
      default:
        out += c;  // \" \\ \/
    }
  }
  return out;
}

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Moves `p`, just past a string's opening quote, to just past its closing one, counting the lines
// in it; returns the string's raw text and sets `escaped` when it holds a backslash.
std::string_view scan_string(const char*& p, const char* end, size_t& line, bool& escaped) {
  const char* start = p;
  while (p < end && *p != '"') {
    if (*p == '\\') {
      escaped = true;
      ++p;
    } else if (*p == '\n') {
      ++line;  // invalid in JSON; the parser refuses it, the line count stays right
    }
    if (p < end) ++p;
  }
  std::string_view raw(start, size_t(p - start));
  if (p < end) ++p;  // the closing quote
  return raw;
}

// Records a key of an object; false when the object has it already. A key with escapes is
// compared decoded, and kept in `decoded` (a deque: views of its strings stay valid).
bool add_key(Frame& f, std::string_view raw, bool escaped, std::deque<std::string>& decoded) {
  std::string_view key = raw;
  if (escaped) {
    decoded.push_back(decode_key(raw));
    key = decoded.back();
  }
  return f.add(key);
}

// Moves `p` past a number; returns its text when it is outside a double's range, else empty.
std::string_view scan_number(const char*& p, const char* end) {
  const char* start = p;
  bool exponent = false;
  while (p < end && is_number_char(*p)) {
    exponent |= *p == 'e' || *p == 'E';
    ++p;
  }
  size_t n = size_t(p - start);
  // Only an exponent or more than 308 digits can leave a double's range.
  if (exponent || n > 308) {
    std::string token(start, n);
    char* parsed_end = nullptr;
    double v = std::strtod(token.c_str(), &parsed_end);
    // The number the parser reads is the longest prefix that is one ("1e999-06" reads 1e999 and
    // then fails on "-"): check that prefix, as strtod reads it.
    if (parsed_end != token.c_str() && std::isinf(v)) return {start, n};
  }
  return {};
}

}  // namespace

std::optional<JsonProblem> find_json_problem(std::string_view text, size_t max_depth) {
  std::vector<Frame> frames;
  size_t depth = 0;
  size_t line = 1;
  std::deque<std::string> decoded;  // keys with escapes, decoded
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    char c = *p;
    switch (c) {
      case '\n':
        ++line;
        ++p;
        break;
      case '{':
      case '[':
        if (++depth > max_depth)
          return JsonProblem{line, fmt::format("nesting deeper than {} levels of arrays and "
                                               "objects",
                                               max_depth)};
        if (frames.size() < depth) frames.emplace_back();
        frames[depth - 1].reset(c == '{');
        ++p;
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        ++p;
        break;
      case ',':
        if (depth > 0 && frames[depth - 1].object) frames[depth - 1].expect_key = true;
        ++p;
        break;
      case '"': {
        ++p;
        bool escaped = false;
        std::string_view raw = scan_string(p, end, line, escaped);
        if (depth > 0 && frames[depth - 1].object && frames[depth - 1].expect_key) {
          frames[depth - 1].expect_key = false;
          if (!add_key(frames[depth - 1], raw, escaped, decoded))
            return JsonProblem{line, fmt::format("key \"{}\" given twice in one object; expected "
                                                 "each key once",
                                                 std::string(raw.substr(0, 80)))};
        }
        break;
      }
      default:
        if ((c >= '0' && c <= '9') || c == '-') {
          if (std::string_view token = scan_number(p, end); !token.empty())
            return JsonProblem{line, fmt::format("the number {} is outside the range of a "
                                                 "double (about ±1.8e308)",
                                                 std::string(token.substr(0, 40)))};
        } else {
          ++p;
        }
    }
  }
  return std::nullopt;
}

}  // namespace pmc
