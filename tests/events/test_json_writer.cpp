#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "events/document/json_writer.h"
#include "events/document/measurement_io.h"

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
    SUBCASE("a byte to escape is found at any position of a long string") {
      // Plain bytes are skipped 8 at a time: each special byte at each offset of a 21-byte
      // string, against its escape written out by hand.
      const std::pair<std::string, std::string> cases[] = {
          {"\"", "\\\""},           {"\\", "\\\\"},      {"\n", "\\n"},
          {"\x01", "\\u0001"},      {"\x1f", "\\u001f"}, {"\xff", "\xEF\xBF\xBD"},
          {"\xc3\xa9", "\xc3\xa9"}, {"\x7f", "\x7f"},    {"~", "~"}};
      for (const auto& [raw, escaped] : cases) {
        for (size_t at = 0; at + raw.size() <= 21; ++at) {
          std::string text = std::string(at, 'a') + raw + std::string(21 - at - raw.size(), 'b');
          std::string expected =
              "\"" + std::string(at, 'a') + escaped + std::string(21 - at - raw.size(), 'b') + "\"";
          JsonWriter w;
          w.value(text);
          CAPTURE(at);
          CHECK(w.str() == expected);
        }
      }
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

namespace {

// A recording-like document: `intervals` intervals of two events, a metric and a reported one.
Measurement with_intervals(size_t intervals) {
  Measurement m;
  EventCount e;
  e.name = "cycles";
  e.status = EventStatus::counted;
  e.time_enabled_ns = e.time_running_ns = 1'000'000'000;
  EventCount missing;
  missing.name = "cpu_core/instructions/";
  missing.pmu = "cpu_core";
  missing.reason = "perf printed <not counted>";
  for (size_t i = 0; i < intervals; ++i) {
    Interval iv;
    iv.time_s = 0.1 * double(i + 1);
    iv.duration_s = 0.1;
    e.value = double(1000 + i) / 3;
    e.raw = 1000 + i;
    iv.events = {e, missing};
    iv.metrics = {{"ghz", double(i) / 7, "GHz"}};
    iv.reported = {{"ipc", 0.5, "insn/cycle"}};
    m.intervals.push_back(iv);
  }
  m.events = {e};
  m.notes = {"events are the sums of the interval deltas"};
  return m;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("an interval is one line in the documented layout") {
    // docs/formats.md: keys in this order, ", " between items, null for an uncounted value.
    Interval iv;
    iv.time_s = 0.25;
    iv.duration_s = 0.125;
    EventCount e;
    e.name = "cycles";
    e.status = EventStatus::counted;
    e.value = 7;
    e.raw = 7;
    e.unit_scale = 1e-6;
    e.time_enabled_ns = 1000;
    e.time_running_ns = 500;
    e.spread.set().stddev = 0.5;
    EventCount n;
    n.name = "a\"b";
    n.reason = "perf printed <not supported>";
    n.status = EventStatus::not_supported;
    iv.events = {e, n};
    iv.metrics = {{"ipc", 1.5, "insn/cycle"}};
    iv.energy = {{"package-0", 2.5, 25, "measured:rapl", 0.05, EnergyScope::machine}};
    CHECK(interval_to_jsonl(iv) ==
          R"({"time_s": 0.25, "duration_s": 0.125, "events": [)"
          R"({"name": "cycles", "pmu": "", "value": 7.0, "raw": 7, "unit": "", "scale": 1e-06, )"
          R"("time_enabled_ns": 1000, "time_running_ns": 500, "status": "counted", "reason": "", )"
          R"("stddev": 0.5}, )"
          R"({"name": "a\"b", "pmu": "", "value": null, "raw": 0, "unit": "", "scale": 1.0, )"
          R"("time_enabled_ns": 0, "time_running_ns": 0, "status": "not_supported", )"
          R"("reason": "perf printed <not supported>"}], )"
          R"("metrics": [{"name": "ipc", "value": 1.5, "unit": "insn/cycle"}], )"
          R"("energy": [{"domain": "package-0", "joules": 2.5, "average_watts": 25.0, )"
          R"("method": "measured:rapl", "uncertainty": 0.05, "scope": "machine"}]})"
          "\n");
  }

  TEST_CASE("the document written in pieces, on any number of threads, is measurement_to_json's") {
    for (size_t intervals : {size_t(0), size_t(1), size_t(255), size_t(256), size_t(1500)}) {
      CAPTURE(intervals);
      Measurement m = with_intervals(intervals);
      std::string whole = measurement_to_json(m);
      CHECK(measurement_from_json(whole, "t.json").intervals.size() == intervals);
      // Head, then ~256 intervals a piece, then the tail.
      size_t expected_pieces = intervals == 0 ? 1 : 2 + (intervals + 255) / 256;
      for (unsigned threads : {1u, 2u, 5u}) {
        CAPTURE(threads);
        std::string pieces;
        size_t calls = 0;
        write_measurement_json(
            m,
            [&](std::string_view piece) {
              pieces.append(piece);
              ++calls;
            },
            threads);
        CHECK((pieces == whole));
        CHECK(calls == expected_pieces);
      }
    }
  }

  TEST_CASE("interval metrics worked out while writing, and intervals freed once written") {
    // The metric function gives what with_intervals() stores (ghz = i / 7, i from time_s), so
    // the bytes must be measurement_to_json's of the stored document.
    Measurement stored = with_intervals(1500);
    std::string whole = measurement_to_json(stored);
    for (unsigned threads : {1u, 3u}) {
      CAPTURE(threads);
      Measurement m = with_intervals(1500);
      for (auto& iv : m.intervals) iv.metrics.clear();
      std::atomic<int> made{0};
      JsonWriteOptions options;
      options.threads = threads;
      options.release_written = true;
      options.interval_metrics = [&made]() -> IntervalMetricsFn {
        ++made;
        return [](const Interval& iv, std::vector<Metric>& out) {
          double i = std::round(iv.time_s / 0.1) - 1;
          out = {{"ghz", i / 7, "GHz"}};
        };
      };
      std::string pieces;
      write_measurement_json(
          m, [&](std::string_view piece) { pieces.append(piece); }, options);
      CHECK((pieces == whole));
      CHECK(m.intervals.empty());
      CHECK(made >= 1);
      CHECK(made <= int(threads));  // one per thread that formatted pieces
    }
  }

  TEST_CASE("a sink that fails stops the writer's threads and its error reaches the caller") {
    Measurement m = with_intervals(3000);
    for (unsigned threads : {1u, 4u}) {
      CAPTURE(threads);
      size_t calls = 0;
      auto failing = [&](std::string_view) {
        if (++calls == 3) throw std::runtime_error("disk full");
      };
      CHECK_THROWS_WITH_AS(write_measurement_json(m, failing, threads), "disk full",
                           std::runtime_error);
      CHECK(calls == 3);
    }
  }
}
