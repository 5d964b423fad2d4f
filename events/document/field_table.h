#pragma once
// The measurement document's records as tables of fields: each record type (an event, a metric,
// an energy reading, a GPU, an interval, the machine, the document) has one constexpr tuple that
// lists its fields once, in the order they are written, each with its JSON key, the member it
// stands for and its kind. The writer and the reader of measurement_io.cpp both walk these
// tables, so a new field is one line in its table (docs/formats.md says what each means).
//
// The tables are tuples of small structs, walked by fold expressions: every field's code is
// generated for its kind and its key is a constant, so a record is written as the hand-written
// sequence of copies it replaces, with no virtual call or allocation per value.
//
// Internal to pmc_document: the reader half uses nlohmann::json.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/document/json_position.h"
#include "events/document/json_writer.h"
#include "events/document/measurement.h"
#include "events/document/measurement_io.h"

namespace pmc::fields {

using json = nlohmann::ordered_json;

// A growable buffer written through a pointer: room is made for an object's longest text once,
// and its fields are written without a check each, the keys as fixed-size copies the compiler
// inlines. Appending field by field to a std::string spent a third of the writer's time in
// capacity checks and memmove calls (perf record on a 100 MB recording's document).
class TextBuffer {
 public:
  // The end of the text, with at least `bytes` free after it; what is written there counts once
  // commit() is given the new end.
  char* room(size_t bytes) {
    if (size_ + bytes > capacity_) grow(size_ + bytes);
    return data_.get() + size_;
  }
  void commit(char* end) { size_ = size_t(end - data_.get()); }
  void clear() { size_ = 0; }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  void grow(size_t needed) {
    size_t capacity = std::max(needed, 2 * capacity_);
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ != 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
  }
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

template <size_t N>
char* put(char* p, const char (&text)[N]) {
  std::memcpy(p, text, N - 1);
  return p + N - 1;
}

inline char* put_text(char* p, std::string_view text) {
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

template <class I>
char* put_integer(char* p, I v) {
  fmt::format_int digits(v);
  return put_text(p, {digits.data(), digits.size()});
}

inline constexpr size_t kIntegerMax = 20;  // 18446744073709551615, -9223372036854775808

// Reading: every field is checked and a missing or mistyped one names the path in the document.
struct Reader {
  std::string_view file;
  std::string_view text;

  [[noreturn]] void fail(const std::string& what, size_t byte = std::string_view::npos) const {
    size_t line = byte == std::string_view::npos ? 1 : line_of_offset(text, byte);
    throw FormatError(fmt::format("{}:{}: {}", file, line, what));
  }

  // An error about the value of `key` in the record at `where`, at the line where that value
  // stands (the record's line when the document does not have it).
  [[noreturn]] void fail_at(const std::string& where, std::string_view key,
                            const std::string& what) const {
    fail(what, json_value_offset(text, where == "the document" ? std::string(key)
                                                               : where + "." + std::string(key)));
  }

  // An error about the record at `where`, at its line.
  [[noreturn]] void fail_at(const std::string& where, const std::string& what) const {
    fail(what, json_value_offset(text, where));
  }

  static bool present(const json& obj, const char* key) {
    return obj.is_object() && obj.contains(key) && !obj.at(key).is_null();
  }

  // The value of `key` read into `out`; false, with `out` untouched, when it is absent or null
  // (an error when `required`).
  template <class T>
  bool read_into(const json& obj, const char* key, const std::string& where, T& out,
                 bool required) const {
    if (!present(obj, key)) {
      if (required) fail_at(where, "expected field '" + std::string(key) + "' in " + where);
      return false;
    }
    try {
      const json& value = obj.at(key);
      // A fraction for a whole-number field is converted by nlohmann with a cast, undefined
      // beyond the type's range (1e127 as time_enabled_ns, found by fuzz_measurement_json).
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (value.is_number_float()) {
          double d = value.get<double>();
          if (!(d >= double(std::numeric_limits<T>::min()) &&
                d < double(std::numeric_limits<T>::max())))
            fail_at(where, key,
                    "field '" + std::string(key) + "' in " + where + " is out of range");
        }
      }
      out = value.get<T>();
      return true;
    } catch (const json::exception&) {
      fail_at(where, key, "field '" + std::string(key) + "' in " + where + " has the wrong type");
    }
  }
};

// What a record's text is written with besides the record: the metrics written in place of an
// interval's own (computed as it is written, IntervalMetricsFn).
struct WriteContext {
  const std::vector<Metric>* interval_metrics = nullptr;
};

// A field's key, and its text as written after an earlier field: `, "key": `.
struct Key {
  const char* name;
  std::array<char, 32> text{};
  size_t size = 0;

  consteval Key(const char* key) : name(key) {
    size_t n = 0;
    while (key[n] != '\0') ++n;
    if (n + 6 > text.size()) throw "a key of the document is longer than Key holds";
    text[0] = ',';
    text[1] = ' ';
    text[2] = '"';
    for (size_t i = 0; i < n; ++i) text[3 + i] = key[i];
    text[3 + n] = '"';
    text[4 + n] = ':';
    text[5 + n] = ' ';
    size = n + 6;
  }
  // `"key": `, after ", " unless it is the first of its object.
  template <bool First>
  [[gnu::always_inline]] char* put(char* p) const {
    constexpr size_t skip = First ? 2 : 0;
    std::memcpy(p, text.data() + skip, size - skip);
    return p + size - skip;
  }
};

// The path of what `key` holds in the record at `where`, for errors: "machine", "events",
// "intervals[3].events" (the document's own fields are named without "the document").
inline std::string path_of(const std::string& where, const char* key) {
  if (where == "the document") return key;
  return where + "." + key;
}

// The field kinds. Each has `key`; `flat` (its value has a longest text, value_max(), and is
// written by put_value() at a pointer; otherwise it is written by put_value() to a TextBuffer
// within a line, or write_value() to a JsonWriter on lines of its own); `written()` (false when
// the record omits it; never when `always_written`); and read(), which leaves the member as the
// record's default when the document has no value for it.

// A string, always written.
template <class R, class S = std::string>
struct Text {
  Key key;
  S R::*member;
  bool required = false;

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  size_t value_max(const R& r) const { return json_string_max(std::string_view(r.*member)); }
  char* put_value(char* p, const R& r) const {
    return write_json_string(p, std::string_view(r.*member));
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    if constexpr (std::is_same_v<S, std::string>) {
      in.read_into(obj, key.name, where, r.*member, required);
    } else {
      std::string text;
      if (in.read_into(obj, key.name, where, text, required)) r.*member = S(text);
    }
  }
};
template <class R, class S>
Text(Key, S R::*, bool = false) -> Text<R, S>;

// A double, always written; null when `given` says the record has none (an event that was not
// counted). With `at_least_zero_of` a negative one is an error: "expected <it> of 0 or more".
template <class R>
struct Number {
  Key key;
  double R::*member;
  bool required = false;
  const char* at_least_zero_of = nullptr;
  bool (*given)(const R&) = nullptr;

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  size_t value_max(const R&) const { return kJsonNumberMax; }
  char* put_value(char* p, const R& r) const {
    if (given != nullptr && !given(r)) return put(p, "null");
    return write_json_number(p, r.*member);
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    in.read_into(obj, key.name, where, r.*member, required);
    if (at_least_zero_of != nullptr && r.*member < 0)
      in.fail_at(where, key.name,
                 fmt::format("{}: {} {} is negative; expected {} of 0 or more", where, key.name,
                             r.*member, at_least_zero_of));
  }
};
template <class R>
Number(Key, double R::*, bool = false, const char* = nullptr, bool (*)(const R&) = nullptr)
    -> Number<R>;

// A double that may be NaN (a metric's value, as perf computes it). JSON has no NaN: it is
// written as null, with NanMark's `"nan": true` beside it, and read back as NaN only with that
// mark; a null without it is refused as for a required number.
template <class R>
struct MaybeNan {
  Key key;
  double R::*member;
  const char* mark;  // the NanMark's key

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  size_t value_max(const R&) const { return kJsonNumberMax; }
  char* put_value(char* p, const R& r) const {
    if (std::isnan(r.*member)) return put(p, "null");
    return write_json_number(p, r.*member);
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    bool marked = obj.is_object() && obj.contains(mark) && obj.at(mark).is_boolean() &&
                  obj.at(mark).template get<bool>();
    if (marked && obj.contains(key.name) && obj.at(key.name).is_null()) {
      r.*member = std::numeric_limits<double>::quiet_NaN();
      return;
    }
    in.read_into(obj, key.name, where, r.*member, true);
  }
};
template <class R>
MaybeNan(Key, double R::*, const char*) -> MaybeNan<R>;

// `"nan": true`, written when MaybeNan's value is NaN. Read: a boolean, and true only beside a
// null value.
template <class R>
struct NanMark {
  Key key;
  double R::*member;

  static constexpr bool flat = true;
  static constexpr bool always_written = false;
  bool written(const R& r) const { return std::isnan(r.*member); }
  size_t value_max(const R&) const { return 4; }
  char* put_value(char* p, const R&) const { return put(p, "true"); }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    bool marked = false;
    if (!in.read_into(obj, key.name, where, marked, false) || !marked) return;
    if (!std::isnan(r.*member))
      in.fail_at(where, key.name,
                 fmt::format("{}: \"{}\" is true but the value is a number; expected null", where,
                             key.name));
  }
};
template <class R>
NanMark(Key, double R::*) -> NanMark<R>;

// A whole number (a count of bytes, nanoseconds, CPUs…), always written. With `unsigned_count`
// a negative number in the document is an error of its own ("… is negative").
template <class R, class I>
struct Integer {
  Key key;
  I R::*member;
  bool required = false;

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  size_t value_max(const R&) const { return kIntegerMax; }
  char* put_value(char* p, const R& r) const { return put_integer(p, r.*member); }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    if constexpr (std::is_same_v<I, uint64_t>) {
      if (obj.is_object() && obj.contains(key.name) && obj.at(key.name).is_number() &&
          obj.at(key.name).template get<double>() < 0)
        in.fail_at(where, key.name,
                   fmt::format("{}: {} is negative; expected 0 or more", where, key.name));
    }
    in.read_into(obj, key.name, where, r.*member, required);
  }
};
template <class R, class I>
Integer(Key, I R::*, bool = false) -> Integer<R, I>;

// A flag written only when set: `"partial": true`.
template <class R>
struct Flag {
  Key key;
  bool R::*member;

  static constexpr bool flat = true;
  static constexpr bool always_written = false;
  bool written(const R& r) const { return r.*member; }
  size_t value_max(const R&) const { return 4; }
  char* put_value(char* p, const R&) const { return put(p, "true"); }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    in.read_into(obj, key.name, where, r.*member, false);
  }
};
template <class R>
Flag(Key, bool R::*) -> Flag<R>;

// What a record does with an optional value it does not have.
enum class Absent { null, omitted };

// An optional double, int or string: written as null or left out when the record has none.
template <class R, class T, class O = std::optional<T>>
struct Optional {
  Key key;
  O R::*member;
  Absent absent;

  static constexpr bool flat = true;
  static constexpr bool always_written = false;
  bool written(const R& r) const { return absent == Absent::null || (r.*member).has_value(); }
  size_t value_max(const R& r) const {
    const auto& v = r.*member;
    if (!v) return 4;
    if constexpr (std::is_same_v<T, std::string>)
      return json_string_max(*v);
    else
      return kJsonNumberMax;
  }
  char* put_value(char* p, const R& r) const {
    const auto& v = r.*member;
    if (!v) return put(p, "null");
    if constexpr (std::is_same_v<T, std::string>)
      return write_json_string(p, *v);
    else if constexpr (std::is_same_v<T, double>)
      return write_json_number(p, *v);
    else
      return put_integer(p, *v);
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    if constexpr (std::is_same_v<O, std::optional<T>>) {
      T value{};
      if (in.read_into(obj, key.name, where, value, false)) r.*member = std::move(value);
    } else {  // SmallOptional: read wide, and refuse what it cannot hold
      long long value = 0;
      if (!in.read_into(obj, key.name, where, value, false)) return;
      if (!O::holds(value))
        in.fail_at(where, key.name,
                   fmt::format("{}: {} {} is out of range; expected {} to {}", where, key.name,
                               value, O::kMin, O::kMax));
      r.*member = value;
    }
  }
};
template <class R, class T>
Optional(Key, std::optional<T> R::*, Absent) -> Optional<R, T>;
template <class R, class T>
Optional(Key, SmallOptional<T> R::*, Absent) -> Optional<R, T, SmallOptional<T>>;

// A time a source may not have given (`given` false): written as null, and read back so.
template <class R>
struct Time {
  Key key;
  double R::*member;
  bool R::*given;
  bool required = false;

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  size_t value_max(const R&) const { return kJsonNumberMax; }
  char* put_value(char* p, const R& r) const {
    return r.*given ? write_json_number(p, r.*member) : put(p, "null");
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    r.*given = !(obj.contains(key.name) && obj.at(key.name).is_null());
    if (r.*given) in.read_into(obj, key.name, where, r.*member, required);
  }
};
template <class R>
Time(Key, double R::*, bool R::*, bool = false) -> Time<R>;

// The most characters of an enum value's name in a document ("permission_denied" is 17).
inline constexpr size_t kEnumNameMax = 32;

// An enum written as its name (to_string); a name parse() does not know is an error whose text is
// `unknown`, a format given the record's path ({0}) and the name ({1}), at the line where it
// stands.
template <class R, class E>
struct Enum {
  Key key;
  E R::*member;
  const char* (*name)(E);
  std::optional<E> (*parse)(std::string_view);
  bool required;
  const char* unknown;

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  // A bound with no call to name(): the names are short (tests/events/test_measurement_io.cpp
  // checks each against it).
  size_t value_max(const R&) const { return 2 + 6 * kEnumNameMax; }
  char* put_value(char* p, const R& r) const { return write_json_string(p, name(r.*member)); }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    std::string text;
    if (!in.read_into(obj, key.name, where, text, required)) return;
    auto parsed = parse(text);
    if (!parsed) in.fail_at(where, key.name, fmt::format(fmt::runtime(unknown), where, text));
    r.*member = *parsed;
  }
};
template <class R, class E>
Enum(Key, E R::*, const char* (*)(E), std::optional<E> (*)(std::string_view), bool, const char*)
    -> Enum<R, E>;

// A constant string (the schema): written as it is, and a document with another is refused.
template <class R>
struct Constant {
  Key key;
  const char* text;

  static constexpr bool flat = true;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  size_t value_max(const R&) const { return json_string_max(text); }
  char* put_value(char* p, const R&) const { return write_json_string(p, text); }
  void read(const Reader& in, const json& obj, const std::string& where, R&) const {
    std::string found;
    in.read_into(obj, key.name, where, found, true);
    if (found != text)
      in.fail_at(where, key.name,
                 fmt::format("expected {} \"{}\", found \"{}\"", key.name, text, found));
  }
};

// A list of strings or of doubles on one line, "[a, b]"; left out when empty with
// `omit_when_empty`.
template <class R, class T>
struct List {
  Key key;
  std::vector<T> R::*member;
  bool omit_when_empty = false;

  static constexpr bool flat = true;
  static constexpr bool always_written = false;
  bool written(const R& r) const { return !omit_when_empty || !(r.*member).empty(); }
  size_t value_max(const R& r) const {
    size_t bytes = 2;
    for (const auto& item : r.*member) {
      if constexpr (std::is_same_v<T, std::string>)
        bytes += 2 + json_string_max(item);
      else
        bytes += 2 + kJsonNumberMax;
    }
    return bytes;
  }
  char* put_value(char* p, const R& r) const {
    const auto& items = r.*member;
    *p++ = '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) p = put(p, ", ");
      if constexpr (std::is_same_v<T, std::string>)
        p = write_json_string(p, items[i]);
      else
        p = write_json_number(p, items[i]);
    }
    *p++ = ']';
    return p;
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    in.read_into(obj, key.name, where, r.*member, false);
  }
};
template <class R, class T>
List(Key, std::vector<T> R::*, bool = false) -> List<R, T>;

// A flat field of a record's Spare<S> part, written as if it were the record's own (the same
// key, in the same place). An absent part reads as a default S, so its optional fields are left
// out; the part is made when the document has a value for the field.
template <class R, class S, class F>
struct InSpare {
  Spare<S> R::*part;
  F field;
  Key key;

  consteval InSpare(Spare<S> R::*part_of, F field_of)
      : part(part_of), field(field_of), key(field_of.key) {}

  static_assert(F::flat, "a spare part's fields are flat");
  static constexpr bool flat = true;
  static constexpr bool always_written = false;
  bool written(const R& r) const { return field.written((r.*part).get()); }
  size_t value_max(const R& r) const { return field.value_max((r.*part).get()); }
  char* put_value(char* p, const R& r) const { return field.put_value(p, (r.*part).get()); }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    if (Reader::present(obj, key.name)) field.read(in, obj, where, (r.*part).set());
  }
};

// The record drivers, over a table `Fields` of record type R. The table is a template argument,
// so each driver is compiled for one table with its keys, members and functions as constants;
// the per-field steps are inlined into it for the same reason.

template <const auto& Fields>
inline constexpr size_t kFieldCount = std::tuple_size_v<std::remove_cvref_t<decltype(Fields)>>;

// A record's first field is always written, so that no field asks at run time whether a ", "
// goes before its key.
template <const auto& Fields>
constexpr bool first_field_always_written() {
  return std::remove_cvref_t<decltype(std::get<0>(Fields))>::always_written;
}

template <bool First, class R, class F>
[[gnu::always_inline]] inline char* put_field(char* p, const R& r, const F& f) {
  if (!f.written(r)) return p;
  p = f.key.template put<First>(p);
  return f.put_value(p, r);
}

template <const auto& Fields, class R, size_t... I>
[[gnu::always_inline]] inline size_t fields_max(const R& r, std::index_sequence<I...>) {
  const auto field_max = [&r](const auto& f) { return f.key.size + f.value_max(r); };
  return (field_max(std::get<I>(Fields)) + ... + 0);
}

template <const auto& Fields, class R, size_t... I>
[[gnu::always_inline]] inline char* put_fields(char* p, const R& r, std::index_sequence<I...>) {
  ((p = put_field<I == 0>(p, r, std::get<I>(Fields))), ...);
  return p;
}

// The longest text of a record whose fields are all flat, as put_record() writes it.
template <const auto& Fields, class R>
[[gnu::always_inline]] inline size_t record_max(const R& r) {
  return 2 + fields_max<Fields>(r, std::make_index_sequence<kFieldCount<Fields>>());
}

// A record whose fields are all flat as one object on one line, at `p`, which has room for
// record_max() bytes; returns the end.
template <const auto& Fields, class R>
char* put_record(char* p, const R& r) {
  static_assert(first_field_always_written<Fields>());
  *p++ = '{';
  p = put_fields<Fields>(p, r, std::make_index_sequence<kFieldCount<Fields>>());
  *p++ = '}';
  return p;
}

template <bool First, class R, class F>
[[gnu::always_inline]] inline void put_field(TextBuffer& out, const R& r, const F& f,
                                             const WriteContext& ctx) {
  if (!f.written(r)) return;
  if constexpr (F::flat) {
    char* p = out.room(f.key.size + f.value_max(r));
    p = f.key.template put<First>(p);
    out.commit(f.put_value(p, r));
  } else {
    out.commit(f.key.template put<First>(out.room(f.key.size)));
    f.put_value(out, r, ctx);
  }
}

template <const auto& Fields, class R, size_t... I>
[[gnu::always_inline]] inline void put_fields(TextBuffer& out, const R& r, const WriteContext& ctx,
                                              std::index_sequence<I...>) {
  (put_field<I == 0>(out, r, std::get<I>(Fields), ctx), ...);
}

// A record as one object on one line, appended to `out`: its flat fields each written in the
// room made for them, its lists element by element.
template <const auto& Fields, class R>
void put_record(TextBuffer& out, const R& r, const WriteContext& ctx) {
  static_assert(first_field_always_written<Fields>());
  out.commit(put(out.room(1), "{"));
  put_fields<Fields>(out, r, ctx, std::make_index_sequence<kFieldCount<Fields>>());
  out.commit(put(out.room(1), "}"));
}

// A flat record appended to a std::string (JsonWriter's buffer) with room for its longest text.
template <const auto& Fields, class R>
void append_record(std::string& out, const R& r) {
  size_t size = out.size();
  out.resize(size + record_max<Fields>(r));
  out.resize(size_t(put_record<Fields>(out.data() + size, r) - out.data()));
}

template <class R, class F>
void write_field(JsonWriter& w, const R& r, const F& f, const WriteContext& ctx) {
  if (!f.written(r)) return;
  w.key(f.key.name);
  if constexpr (F::flat) {
    std::string& out = w.raw_value();
    size_t size = out.size();
    out.resize(size + f.value_max(r));
    out.resize(size_t(f.put_value(out.data() + size, r) - out.data()));
  } else {
    f.write_value(w, r, ctx);
  }
}

// Fields [Begin, End) of a record whose object `w` has open, each on its own line.
template <const auto& Fields, size_t Begin = 0, size_t End = kFieldCount<Fields>, class R>
void write_fields(JsonWriter& w, const R& r, const WriteContext& ctx) {
  [&]<size_t... I>(std::index_sequence<I...>) {
    (write_field(w, r, std::get<Begin + I>(Fields), ctx), ...);
  }
  (std::make_index_sequence<End - Begin>());
}

template <const auto& Fields, class R>
void read_record(const Reader& in, const json& obj, const std::string& where, R& r) {
  std::apply([&](const auto&... f) { (f.read(in, obj, where, r), ...); }, Fields);
}

// The index of the field `key` in `fields`.
template <class Fields>
consteval size_t field_index(const Fields& fields, std::string_view key) {
  size_t index = 0;
  bool found = false;
  std::apply(
      [&](const auto&... f) {
        ((found = found || std::string_view(f.key.name) == key, index += found ? 0 : 1), ...);
      },
      fields);
  if (!found) throw "no such field";
  return index;
}

// How a list of records names itself in errors: by its path ("events", "intervals[3].events"),
// or after its record's name even at the top ("the document.metrics").
enum class ListPath { relative, full };

// A list of records, of the element table `Table`. On lines of its own in a multiline record (an
// element per line), on the line of its record otherwise. With `computed_metrics`, an interval's
// metrics, the list written is WriteContext::interval_metrics when it is set. Made by records().
template <class R, class E, const auto& Table>
struct Records {
  Key key;
  std::vector<E> R::*member;
  bool required = false;
  bool omit_when_empty = false;
  ListPath path = ListPath::relative;
  bool computed_metrics = false;

  static constexpr bool flat = false;
  static constexpr bool always_written = false;
  const std::vector<E>& items(const R& r, const WriteContext& ctx) const {
    if constexpr (std::is_same_v<E, Metric>)
      if (computed_metrics && ctx.interval_metrics != nullptr) return *ctx.interval_metrics;
    return r.*member;
  }
  bool written(const R& r) const { return !omit_when_empty || !(r.*member).empty(); }
  // "[a, b]" within a line: a list in an interval.
  void put_value(TextBuffer& out, const R& r, const WriteContext& ctx) const {
    const auto& list = items(r, ctx);
    out.commit(put(out.room(1), "["));
    for (size_t i = 0; i < list.size(); ++i) {
      char* p = out.room(2 + record_max<Table>(list[i]));
      if (i != 0) p = put(p, ", ");
      out.commit(put_record<Table>(p, list[i]));
    }
    out.commit(put(out.room(1), "]"));
  }
  // An element per line: a list of the document or the machine.
  void write_value(JsonWriter& w, const R& r, const WriteContext& ctx) const {
    const auto& list = items(r, ctx);
    w.begin_array(!list.empty());
    for (const auto& item : list) append_record<Table>(w.raw_value(), item);
    w.end_array();
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    bool has = obj.is_object() && obj.contains(key.name);
    if (!has) {
      if (required) in.fail_at(where, "expected field '" + std::string(key.name) + "' in " + where);
      return;
    }
    std::string list_path =
        path == ListPath::full ? where + "." + key.name : path_of(where, key.name);
    const json& arr = obj.at(key.name);
    if (!arr.is_array()) in.fail_at(where, key.name, list_path + " must be an array");
    auto& out = r.*member;
    out.reserve(arr.size());
    for (size_t i = 0; i < arr.size(); ++i) {
      E item;
      read_record<Table>(in, arr[i], fmt::format("{}[{}]", list_path, i), item);
      out.push_back(std::move(item));
    }
  }
};

template <const auto& Table, class R, class E>
constexpr Records<R, E, Table> records(Key key, std::vector<E> R::*member, bool required = false,
                                       bool omit_when_empty = false,
                                       ListPath path = ListPath::relative,
                                       bool computed_metrics = false) {
  return {key, member, required, omit_when_empty, path, computed_metrics};
}

// A record within a record, on lines of its own (the machine). Made by nested().
template <class R, class S, const auto& Table>
struct Nested {
  Key key;
  S R::*member;

  static constexpr bool flat = false;
  static constexpr bool always_written = true;
  bool written(const R&) const { return true; }
  void write_value(JsonWriter& w, const R& r, const WriteContext& ctx) const {
    w.begin_object(true);
    write_fields<Table>(w, r.*member, ctx);
    w.end_object();
  }
  void read(const Reader& in, const json& obj, const std::string& where, R& r) const {
    if (!obj.is_object() || !obj.contains(key.name)) return;
    read_record<Table>(in, obj.at(key.name), path_of(where, key.name), r.*member);
  }
};

template <const auto& Table, class R, class S>
constexpr Nested<R, S, Table> nested(Key key, S R::*member) {
  return {key, member};
}

}  // namespace pmc::fields
