// A long `perf stat -I -x,` recording is cut at interval boundaries and read on several threads
// (ImportOptions::threads); the document, the errors and the skipped lines must be those of one
// thread reading it all. The oracle is the one-thread import, which test_import_perfstat.cpp
// checks against hand-computed values; here the recordings are real perf rows repeated.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "events/text/input_file.h"
#include "test_support.h"

using namespace pmc;

namespace {

std::vector<std::string> rows_of(const std::string& fixture) {
  std::string text = test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/" + fixture);
  std::vector<std::string> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string row = text.substr(start, end - start);
    if (!row.empty() && row.front() != '#') rows.push_back(row);
    start = end + 1;
  }
  return rows;
}

// perf's -I timestamp, "%6lu.%09lu" (tools/perf/util/stat-display.c), of interval i of 100 ms.
std::string stamp(size_t i) {
  return fmt::format("{:6}.{:09}", i / 10, (i % 10) * 100'000'000);
}

// `rows` (a -x, recording without -I, or with -I when `drop_stamp` says its rows carry one
// already) as `intervals` intervals: each row prefixed by the interval's timestamp, counts that
// are plain integers multiplied by 1 + i % 5 so that intervals differ.
std::string recording(const std::vector<std::string>& rows, size_t intervals,
                      bool drop_stamp = false, size_t first = 1) {
  std::string out;
  for (size_t i = first; i < first + intervals; ++i) {
    for (std::string row : rows) {
      if (drop_stamp) row = row.substr(row.find(',') + 1);
      size_t comma = row.find(',');
      std::string first = row.substr(0, comma);
      bool integer = !first.empty() && first.find_first_not_of("0123456789") == std::string::npos;
      if (integer && comma != std::string::npos)
        row = fmt::format("{}{}", std::stoull(first) * (1 + i % 5), row.substr(comma));
      out += stamp(i) + "," + row + "\n";
    }
  }
  return out;
}

// The rows of a -I fixture's first interval (its fixtures have two of equal length).
std::vector<std::string> first_interval(const std::string& fixture) {
  auto rows = rows_of(fixture);
  rows.resize(rows.size() / 2);
  return rows;
}

ImportOptions with_threads(unsigned threads, bool lenient = false) {
  ImportOptions o;
  o.format = PerfStatFormat::csv;
  o.threads = threads;
  o.min_part_bytes = 4096;  // small recordings, cut into many parts
  o.lenient = lenient;
  return o;
}

std::string error_of(const std::string& text, const ImportOptions& options) {
  try {
    import_perf_stat(text, "long.csv", options);
  } catch (const ImportError& e) {
    return e.what();
  }
  return "no error";
}

// The document and the skipped lines, or the error: what the fuzzer compares across readings.
std::string outcome_of(const std::string& text, const ImportOptions& options) {
  try {
    auto r = import_perf_stat(text, "long.csv", options);
    std::string out = measurement_to_json(r.measurement);
    for (const auto& line : r.skipped) out += line + "\n";
    return out;
  } catch (const ImportError& e) {
    return e.what();
  }
}

// Line `line` (1-based) of `text` replaced by `with`.
std::string replace_line(const std::string& text, size_t line, const std::string& with) {
  size_t start = 0;
  for (size_t i = 1; i < line; ++i) start = text.find('\n', start) + 1;
  size_t end = text.find('\n', start);
  return text.substr(0, start) + with + text.substr(end);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("a long -I recording read on several threads gives the document one thread gives") {
    struct Case {
      const char* fixture;
      bool stamped;
    };
    // 005.csv: perf 6.4's metric-group rows and metric rows; per_socket_interval.csv: aggregate
    // prefixes and their totals; interval.csv: <not counted> with empty metric fields.
    for (const Case& c : {Case{"005.csv", false}, Case{"synthetic/per_socket_interval.csv", true},
                          Case{"synthetic/interval.csv", true}}) {
      auto rows = c.stamped ? first_interval(c.fixture) : rows_of(c.fixture);
      CAPTURE(c.fixture);
      std::string text = recording(rows, 400, c.stamped);
      auto one = import_perf_stat(text, "long.csv", with_threads(1));
      CHECK(one.parts == 1);
      REQUIRE(one.measurement.intervals.size() == 400);
      std::string expected = measurement_to_json(one.measurement);
      for (unsigned threads : {2u, 3u, 8u}) {
        CAPTURE(threads);
        auto many = import_perf_stat(text, "long.csv", with_threads(threads));
        // Up to 4 parts per thread, of at least min_part_bytes.
        CHECK(many.parts == std::min<size_t>(4 * threads, text.size() / 4096));
        CHECK((measurement_to_json(many.measurement) == expected));  // no 100 KB diff on failure
      }
    }
  }

  TEST_CASE("a part that depends on the part before it is read in sequence, with the same result") {
    auto rows = rows_of("005.csv");
    std::string text;
    size_t parts = 0;
    SUBCASE("every interval but the first starts with a metric row, named after the row before") {
      // ",,,,,70.1,%  tma_backend_bound" first: a part starting there cannot know its event.
      auto rotated = rows;
      std::rotate(rotated.begin(), rotated.begin() + 9, rotated.end());
      REQUIRE(rotated.front().starts_with(",,,,,"));
      text = recording(rows, 1) + recording(rotated, 299, false, 2);
      parts = 1;  // the second part already starts with one
    }
    SUBCASE("a note in the middle of the recording") {
      text = recording(rows, 300);
      size_t middle = text.find('\n', text.size() * 6 / 10) + 1;
      text.insert(middle, "...\n");
      // 4 threads cut 16 parts at about k/16 of the file: the note at 60 % is in the tenth, and
      // the nine before it are appended.
      parts = 9;
    }
    auto one = import_perf_stat(text, "long.csv", with_threads(1));
    auto many = import_perf_stat(text, "long.csv", with_threads(4));
    CHECK(many.parts == parts);
    CHECK((measurement_to_json(many.measurement) == measurement_to_json(one.measurement)));
  }

  TEST_CASE("errors and skipped lines name the same FILE:LINE with any number of threads") {
    std::string text = recording(first_interval("synthetic/interval.csv"), 2000, true);
    // interval.csv has 6 rows, 3 per interval: line 4501 is in the second half, line 1201 in
    // the first, line 5998 in the last part.
    std::string late = replace_line(text, 4501, "this is not a row");
    SUBCASE("one bad line late in the file") {
      for (unsigned threads : {1u, 2u, 8u}) {
        CAPTURE(threads);
        CHECK(error_of(late, with_threads(threads)).starts_with("long.csv:4501: expected"));
      }
    }
    std::string both = replace_line(late, 1201, "1,2");
    both = replace_line(both, 5998, "neither,is,this");
    SUBCASE("the first of several bad lines is the error") {
      for (unsigned threads : {1u, 2u, 8u}) {
        CAPTURE(threads);
        CHECK(error_of(both, with_threads(threads)).starts_with("long.csv:1201: expected"));
      }
    }
    SUBCASE("--lenient skips the same lines, in order") {
      auto one = import_perf_stat(both, "long.csv", with_threads(1, true));
      REQUIRE(one.skipped.size() == 3);
      CHECK(one.skipped[0].starts_with("long.csv:1201: "));
      CHECK(one.skipped[1].starts_with("long.csv:4501: "));
      CHECK(one.skipped[2].starts_with("long.csv:5998: "));
      for (unsigned threads : {2u, 8u}) {
        CAPTURE(threads);
        auto many = import_perf_stat(both, "long.csv", with_threads(threads, true));
        CHECK(many.parts > 1);
        CHECK(many.skipped == one.skipped);
        CHECK((measurement_to_json(many.measurement) == measurement_to_json(one.measurement)));
      }
    }
  }

  TEST_CASE("a binary byte late in a long recording is found on any number of threads") {
    // Over 16 MiB, so that the check for bytes perf never writes runs on two shares of 8 MiB.
    std::string text = recording(first_interval("synthetic/interval.csv"), 100'000, true);
    REQUIRE(text.size() > (16u << 20));
    std::string damaged = replace_line(text, 250'001, std::string("\x01") + "garbage");
    for (unsigned threads : {1u, 2u}) {
      CAPTURE(threads);
      ImportOptions o;
      o.threads = threads;
      CHECK(error_of(damaged, o) ==
            "long.csv:250001: expected perf stat text, found binary byte 0x01");
    }
  }

  TEST_CASE("a short recording or one thread is read in one part") {
    std::string text = recording(first_interval("synthetic/interval.csv"), 10, true);
    CHECK(import_perf_stat(text, "short.csv", with_threads(8)).parts == 1);  // < 2 x 4096 bytes
    ImportOptions defaults;
    defaults.threads = 8;  // parts of at least 4 MiB by default
    CHECK(import_perf_stat(recording(first_interval("synthetic/interval.csv"), 2000, true), "a.csv",
                           defaults)
              .parts == 1);
  }
}

namespace {

// import_perf_stat_streamed into a StreamedDocumentWriter (what `pmcmodel import FILE.csv --json
// OUT` does): the document's text, or the error.
struct Streamed {
  std::string json;
  ImportResult result;
  std::string error;
  size_t batches = 0;
  bool in_order = true;  // every batch numbered after the one before, on the calling thread
};

Streamed streamed(const std::string& text, const ImportOptions& options,
                  const std::string& file = "long.csv") {
  Streamed s;
  Measurement head;
  head.source = "perf-stat";
  StreamedDocumentWriter writer(
      head, [&](std::string_view piece) { s.json.append(piece); }, {}, options.threads);
  size_t batches = 0;
  auto caller = std::this_thread::get_id();
  try {
    s.result = import_perf_stat_streamed(
        text, file, options, [&](size_t b, std::vector<Interval>&& intervals) {
          s.in_order &= b == batches++ && std::this_thread::get_id() == caller;
          writer.add_batch(b, std::move(intervals));
        });
    writer.finish(s.result.measurement);
  } catch (const ImportError& e) {
    s.error = e.what();
  }
  s.batches = batches;
  return s;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("a recording streamed part by part gives the document it gives read whole") {
    struct Case {
      const char* fixture;
      bool stamped;
    };
    for (const Case& c : {Case{"005.csv", false}, Case{"synthetic/per_socket_interval.csv", true},
                          Case{"synthetic/interval.csv", true}}) {
      auto rows = c.stamped ? first_interval(c.fixture) : rows_of(c.fixture);
      CAPTURE(c.fixture);
      std::string text = recording(rows, 400, c.stamped);
      auto whole = import_perf_stat(text, "long.csv", with_threads(1));
      std::string expected = measurement_to_json(whole.measurement);
      for (unsigned threads : {1u, 2u, 3u, 8u}) {
        CAPTURE(threads);
        auto s = streamed(text, with_threads(threads));
        REQUIRE(s.error.empty());
        CHECK((s.json == expected));  // no 100 KB diff on failure
        CHECK(s.result.measurement.intervals.empty());
        CHECK(s.batches > 4);  // parts of min_part_bytes (4096 here), handed on as read
        // One batch per part, and the last part's held-back interval after them.
        CHECK(s.batches == s.result.parts + 1);
        CHECK(s.in_order);
      }
    }
  }

  TEST_CASE("a streamed part that depends on the one before it: the rest is read in sequence") {
    auto rows = rows_of("005.csv");
    std::string text;
    SUBCASE("every interval but the first starts with a metric row") {
      auto rotated = rows;
      std::rotate(rotated.begin(), rotated.begin() + 9, rotated.end());
      text = recording(rows, 1) + recording(rotated, 299, false, 2);
    }
    SUBCASE("a note in the middle of the recording") {
      text = recording(rows, 300);
      size_t middle = text.find('\n', text.size() * 6 / 10) + 1;
      text.insert(middle, "...\n");
    }
    auto whole = import_perf_stat(text, "long.csv", with_threads(1));
    for (unsigned threads : {1u, 4u}) {
      CAPTURE(threads);
      auto s = streamed(text, with_threads(threads));
      REQUIRE(s.error.empty());
      CHECK((s.json == measurement_to_json(whole.measurement)));
    }
  }

  TEST_CASE("two -I recordings in one file are refused where the second starts, on any threads") {
    // Two captures concatenated (cat a.csv b.csv, each 2> without -o): the second's timestamps
    // start again at 0.1 s. Read on, its intervals were the first's, one of them of negative
    // length. Its first row is the line after the first recording's 300 intervals.
    auto rows = first_interval("synthetic/interval.csv");
    std::string one = recording(rows, 300, true);
    // The second ends at 29.9 s, below the first's last 30.0 s: each of its rows goes back.
    std::string text = one + recording(rows, 299, true);
    size_t line = size_t(std::count(one.begin(), one.end(), '\n')) + 1;
    std::string expected = fmt::format(
        "long.csv:{}: expected a -I timestamp at or after the one "
        "before",
        line);
    auto whole = import_perf_stat(text, "long.csv", with_threads(1, true));
    for (unsigned threads : {1u, 2u, 8u}) {
      CAPTURE(threads);
      CHECK(error_of(text, with_threads(threads)).starts_with(expected));
      CHECK(streamed(text, with_threads(threads)).error.starts_with(expected));
      // --lenient skips every row of the second recording and keeps the first as it was.
      auto lenient = import_perf_stat(text, "long.csv", with_threads(threads, true));
      REQUIRE(lenient.skipped.size() == 299 * rows.size());
      CHECK(lenient.skipped.front().starts_with(expected));
      CHECK(lenient.measurement.intervals.size() == 300);
      CHECK((measurement_to_json(lenient.measurement) == measurement_to_json(whole.measurement)));
    }
  }

  TEST_CASE(
      "a damaged line after a second recording's start: the start is the error, on any threads") {
    // The fuzzer's find: parts cut at every interval, so that one starts where the second
    // recording does. Its own reader sees no timestamp going back (it has none before), only the
    // damaged line after it; read in sequence, the file's first error is the start.
    auto rows = first_interval("synthetic/interval.csv");
    REQUIRE(rows.size() >= 2);
    std::string one = recording(rows, 30, true);
    size_t start = size_t(std::count(one.begin(), one.end(), '\n')) + 1;
    std::string text = replace_line(one + recording(rows, 29, true), start + 1, "00000,75.00,,");
    std::string expected =
        fmt::format("long.csv:{}: expected a -I timestamp at or after the one before", start);
    CHECK(error_of(text, with_threads(1)).starts_with(expected));
    for (unsigned threads : {2u, 3u, 8u}) {
      CAPTURE(threads);
      auto options = with_threads(threads);
      options.min_part_bytes = 64;  // a part for every interval
      CHECK(error_of(text, options).starts_with(expected));
      CHECK(streamed(text, options).error.starts_with(expected));
    }
  }

  TEST_CASE("the fuzzer's finds: whole, on threads and streamed give the same error or skips") {
    // tests/data/perfstat/bad/README.md: a part that starts where the time goes back, after a
    // line the reading of the whole refused (and --lenient skipped).
    for (const char* name : {"bad/goes_back_then_damaged.csv", "bad/skipped_then_goes_back.csv"}) {
      CAPTURE(name);
      std::string text = test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/" + name);
      for (bool lenient : {false, true}) {
        CAPTURE(lenient);
        std::string whole = outcome_of(text, with_threads(1, lenient));
        for (unsigned threads : {1u, 3u}) {
          auto options = with_threads(threads, lenient);
          options.min_part_bytes = 64;
          CHECK(outcome_of(text, options) == whole);
        }
      }
    }
  }

  TEST_CASE("streamed: the first bad line is the error, and --lenient skips the same lines") {
    std::string text = recording(first_interval("synthetic/interval.csv"), 2000, true);
    std::string both = replace_line(text, 4501, "this is not a row");
    both = replace_line(both, 1201, "1,2");
    both = replace_line(both, 5998, "neither,is,this");
    auto lenient_whole = import_perf_stat(both, "long.csv", with_threads(1, true));
    for (unsigned threads : {1u, 2u, 8u}) {
      CAPTURE(threads);
      CHECK(streamed(both, with_threads(threads)).error.starts_with("long.csv:1201: expected"));
      auto s = streamed(both, with_threads(threads, true));
      REQUIRE(s.error.empty());
      CHECK(s.result.skipped == lenient_whole.skipped);
      CHECK((s.json == measurement_to_json(lenient_whole.measurement)));
    }
  }

  TEST_CASE("streamed: a sink that fails stops the import, and its error reaches the caller") {
    std::string text = recording(first_interval("synthetic/interval.csv"), 2000, true);
    for (unsigned threads : {1u, 4u}) {
      CAPTURE(threads);
      std::atomic<int> calls{0};
      auto failing = [&](size_t, std::vector<Interval>&&) {
        if (++calls == 3) throw std::runtime_error("disk full");
      };
      CHECK_THROWS_WITH_AS(
          import_perf_stat_streamed(text, "long.csv", with_threads(threads), failing), "disk full",
          std::runtime_error);
    }
  }

  TEST_CASE("streamed: other formats are read whole, their intervals kept, the document whole") {
    // A text or JSON recording's header gives the document's head (the command): read whole.
    std::string text =
        test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/synthetic/interval.txt");
    ImportOptions o;
    auto whole = import_perf_stat(text, "interval.txt", o);
    REQUIRE(!whole.measurement.intervals.empty());
    auto s = streamed(text, o, "interval.txt");
    REQUIRE(s.error.empty());
    CHECK(s.batches == 0);
    CHECK(s.result.measurement.intervals.size() == whole.measurement.intervals.size());
    CHECK((s.json == measurement_to_json(whole.measurement)));
    // A file with no interval: the writer writes the document whole.
    std::string plain = test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/001.txt");
    auto no_intervals = streamed(plain, o, "001.txt");
    CHECK(no_intervals.batches == 0);
    CHECK((no_intervals.json ==
           measurement_to_json(import_perf_stat(plain, "001.txt", o).measurement)));
  }

  TEST_CASE(
      "streamed or whole, on any threads: an overlong line and a negative count name their line") {
    std::string text = recording(first_interval("synthetic/interval.csv"), 2000, true);
    // Line 4501 is interval 1501's first row (task-clock), in the second half of the file.
    SUBCASE("a line longer than 1 MiB stops the import, --lenient too") {
      std::string over = replace_line(text, 4501, stamp(1501) + std::string(kMaxLineBytes, ','));
      for (unsigned threads : {1u, 2u, 8u}) {
        for (bool lenient : {false, true}) {
          CAPTURE(threads);
          CAPTURE(lenient);
          const std::string expected = "long.csv:4501: a line longer than 1048576 bytes";
          CHECK(error_of(over, with_threads(threads, lenient)).starts_with(expected));
          CHECK(streamed(over, with_threads(threads, lenient)).error.starts_with(expected));
        }
      }
    }
    SUBCASE("a negative time is refused, or with --lenient its line alone is dropped") {
      std::string negative = replace_line(
          text, 4501,
          stamp(1501) + ",-100.23,msec,task-clock,100230000,100.00,1.002,CPUs utilized");
      auto whole = import_perf_stat(negative, "long.csv", with_threads(1, true));
      REQUIRE(whole.skipped.size() == 1);
      CHECK(whole.skipped[0].starts_with(
          "long.csv:4501: the time is negative; expected a time of 0 or more"));
      const auto& interval = whole.measurement.intervals.at(1500);
      CHECK(interval.time_s == doctest::Approx(150.1));
      CHECK(interval.events.size() == 2);  // cycles and instructions
      for (const auto& e : interval.events) CHECK(e.name != "task-clock");
      CHECK(whole.measurement.intervals.at(1499).events.size() == 3);
      for (unsigned threads : {1u, 2u, 8u}) {
        CAPTURE(threads);
        CHECK(error_of(negative, with_threads(threads))
                  .starts_with("long.csv:4501: the time is negative"));
        CHECK(streamed(negative, with_threads(threads))
                  .error.starts_with("long.csv:4501: the time is negative"));
        auto s = streamed(negative, with_threads(threads, true));
        REQUIRE(s.error.empty());
        CHECK(s.result.skipped == whole.skipped);
        CHECK((s.json == measurement_to_json(whole.measurement)));
      }
    }
  }
}

namespace {

// The document of `text` with each interval's metrics derived over its metric time
// (metric_seconds: perf's -I period), as `pmcmodel import` without metric files writes it:
// whole, or streamed into the writer part by part.
IntervalMetricsFactory interval_cpus() {
  return [] {
    return [](const Interval& iv, std::vector<Metric>& out) {
      out = as_interval_metrics(derive_metrics(iv.events, metric_seconds(iv)));
    };
  };
}

std::string whole_document(const std::string& text, const ImportOptions& options,
                           const std::string& file) {
  auto r = import_perf_stat(text, file, options);
  for (auto& iv : r.measurement.intervals)
    iv.metrics = as_interval_metrics(derive_metrics(iv.events, metric_seconds(iv)));
  return measurement_to_json(r.measurement);
}

std::string streamed_document(const std::string& text, const ImportOptions& options,
                              const std::string& file) {
  std::string json;
  StreamedDocumentWriter writer(
      perf_stat_streamed_head(text), [&](std::string_view piece) { json.append(piece); },
      interval_cpus(), options.threads);
  auto r = import_perf_stat_streamed(text, file, options,
                                     [&](size_t b, std::vector<Interval>&& intervals) {
                                       writer.add_batch(b, std::move(intervals));
                                     });
  // Text and JSON recordings are read whole, their intervals kept in the result.
  for (auto& iv : r.measurement.intervals)
    iv.metrics = as_interval_metrics(derive_metrics(iv.events, metric_seconds(iv)));
  writer.finish(r.measurement);
  return json;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("-I recordings from the wild: one step and period, whole, in parts or streamed") {
    // The step and period come from the head of the recording, never from the intervals a part
    // or a batch holds: parts of 64 bytes (a batch of one interval each, as fuzz_import_csv cuts
    // them) give the document one thread reading it whole gives.
    for (const char* file :
         {"wild/042.csv", "wild/051.json", "wild/053.txt", "wild/056.txt", "wild/068.txt",
          "wild/069.txt", "wild/071.txt", "synthetic/zen4_interval.csv",
          "synthetic/per_socket_interval.csv", "synthetic/interval.csv"}) {
      std::string name = file;
      CAPTURE(name);
      std::string text = test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/" + file);
      ImportOptions one;
      const std::string expected = whole_document(text, one, file);
      auto doc = import_perf_stat(text, file, one).measurement;
      REQUIRE(!doc.intervals.empty());
      REQUIRE(doc.interval_step_s);  // each has a period to be equal across the cuts
      ImportOptions small;
      small.min_part_bytes = 64;
      for (unsigned threads : {1u, 2u}) {
        CAPTURE(threads);
        small.threads = threads;
        CHECK((whole_document(text, small, file) == expected));
        CHECK((streamed_document(text, small, file) == expected));
      }
    }
  }
}
