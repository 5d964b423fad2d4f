#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "json_writer.h"
#include "measurement_io.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("the JSON writer writes what RFC 8259 allows and nlohmann reads back") {
    SUBCASE("strings: quotes, backslashes and control characters are escaped") {
      JsonWriter w;
      const std::string text = std::string("a\"b\\c\nd\te\x01") + "f";
      w.value(text);
      CHECK(w.str() == R"("a\"b\\c\nd\te\u0001f")");
      CHECK(nlohmann::json::parse(w.str()).get<std::string>() == text);
    }
    SUBCASE("UTF-8 passes through, a byte that is not UTF-8 becomes U+FFFD") {
      JsonWriter w;
      w.begin_array();
      w.value("µs 温度");
      w.value(
          std::string_view("x\xff"
                           "y\xc3",
                           4));                      // stray byte, truncated sequence
      w.value(std::string_view("\xed\xa0\x80", 3));  // a UTF-16 surrogate, not allowed in UTF-8
      w.end_array();
      auto back = nlohmann::json::parse(w.str());
      CHECK(back[0] == "µs 温度");
      CHECK(back[1] == "x\xEF\xBF\xBDy\xEF\xBF\xBD");
      CHECK(back[2] == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    }
    SUBCASE("numbers: shortest round trip, integral doubles stay doubles, NaN and inf are null") {
      JsonWriter w;
      w.begin_array();
      w.value(0.1);
      w.value(2.0);
      w.value(1e300);
      w.value(std::numeric_limits<double>::quiet_NaN());
      w.value(-std::numeric_limits<double>::infinity());
      w.value(uint64_t(18446744073709551615u));
      w.value(int64_t(-3));
      w.end_array();
      CHECK(w.str() == "[0.1, 2.0, 1e+300, null, null, 18446744073709551615, -3]");
      auto back = nlohmann::json::parse(w.str());
      CHECK(back[1].is_number_float());
      CHECK(back[5].get<uint64_t>() == 18446744073709551615u);
    }
    SUBCASE("multi-line containers indent by two spaces per level, others stay on one line") {
      JsonWriter w;
      w.begin_object(true);
      w.field("a", 1);
      w.key("b");
      w.begin_array();
      w.value(1);
      w.value(2);
      w.end_array();
      w.key("c");
      w.begin_array(true);
      w.end_array();
      w.end_object();
      CHECK(w.str() == "{\n  \"a\": 1,\n  \"b\": [1, 2],\n  \"c\": []\n}");
    }
  }

  TEST_CASE("a document with a name that is not UTF-8 still writes and reads back") {
    Measurement m;
    EventCount e;
    e.name = std::string("cyc\xffles");
    e.status = EventStatus::counted;
    e.value = 7;
    m.events = {e};
    Interval iv;
    iv.time_s = 0.25;
    iv.duration_s = 0.25;
    iv.events = {e};
    iv.metrics = {{"ipc", 1.5, "insn/cycle"}};
    m.intervals = {iv, iv};
    std::string text = measurement_to_json(m);
    Measurement back = measurement_from_json(text, "t.json");
    CHECK(back.events[0].name == "cyc\xEF\xBF\xBDles");
    REQUIRE(back.intervals.size() == 2);
    CHECK(back.intervals[1].time_s == 0.25);
    CHECK(back.intervals[1].events[0].value == 7);
    // One line per interval: the document's line count grows by one per interval.
    size_t lines = size_t(std::count(text.begin(), text.end(), '\n'));
    m.intervals.push_back(iv);
    std::string longer = measurement_to_json(m);
    CHECK(size_t(std::count(longer.begin(), longer.end(), '\n')) == lines + 1);
  }
}
