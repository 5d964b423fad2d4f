#pragma once
// A streaming JSON writer for the measurement document: values are appended to one buffer as they
// are visited, with no tree in between. nlohmann::json built the whole document as a tree first,
// and for a 100 MB interval recording that tree cost 20 s and 3 GB; reading still uses nlohmann.
//
// The writer follows nlohmann's dump() in what it writes: doubles in the shortest form that reads
// back to the same value, with ".0" on integral ones so they stay floating point; NaN and
// infinities as null (JSON has neither); strings escaped as RFC 8259 requires. Bytes that are not
// UTF-8 are written as U+FFFD (nlohmann's error_handler_t::replace), so a stray byte in an event
// name from an imported file cannot make the document unreadable.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

// The writer's forms of a double and of a string, appended to `out`: for code that writes many
// objects of one shape (a recording's interval events) with its keys as literals.
void append_json_number(std::string& out, double v);
void append_json_string(std::string& out, std::string_view s);

// The same written at `p`, which has room for the most they can take (kJsonNumberMax,
// json_string_max()); they return the end. A caller makes room for a whole object once and
// writes its fields without a check each.
inline constexpr size_t kJsonNumberMax = 32;  // "-2.2250738585072014e-308" is 24
inline size_t json_string_max(std::string_view s) {
  return 2 + 6 * s.size();  // a control byte is "\u00XX"
}
char* write_json_number(char* p, double v);
char* write_json_string(char* p, std::string_view s);

class JsonWriter {
 public:
  // Containers opened with `multiline` put each element on its own line, indented by two spaces
  // per level; the others keep their elements on one line, as "a": [1, 2].
  void begin_object(bool multiline = false) { open('{', multiline); }
  void end_object() { close('}'); }
  void begin_array(bool multiline = false) { open('[', multiline); }
  void end_array() { close(']'); }

  // The key of the next value in an object: a name of the format, written as it is (so plain
  // ASCII without quotes or backslashes).
  void key(std::string_view name);

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(double v);
  void value(int64_t v);
  void value(uint64_t v);
  void value(int v) { value(int64_t(v)); }
  void value(bool v);
  void null();

  template <class T>
  void field(std::string_view name, const T& v) {
    key(name);
    value(v);
  }
  void field_null(std::string_view name) {
    key(name);
    null();
  }
  void string_array(std::string_view name, const std::vector<std::string>& items);

  // Starts a value and returns the buffer, to which the caller appends one complete JSON value
  // (an object of a shape written many times, with its keys as literals).
  std::string& raw_value() {
    before_value();
    return out_;
  }

  // The open array has elements that were written elsewhere (a long recording's intervals,
  // formatted on other threads and sent on their own): closing it ends its last line as it
  // would have.
  void assume_elements() { levels_.back().empty = false; }

  // Room for `bytes` more, so a large document is not copied as it grows.
  void reserve(size_t bytes) { out_.reserve(out_.size() + bytes); }
  // The text so far; complete once every container is closed.
  const std::string& str() const { return out_; }
  // The text, moved out; the writer is empty afterwards.
  std::string take() {
    std::string text = std::move(out_);
    out_.clear();
    return text;
  }

 private:
  struct Level {
    bool multiline = false;
    bool empty = true;
  };
  void open(char bracket, bool multiline);
  void close(char bracket);
  void before_value();
  void newline(size_t depth);

  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

}  // namespace pmc
