// The shipped metric files (data/metrics/*.json, written by scripts/generate-metrics) as perf's
// jevents would read them: every metric loads, and the events the engine asks for are exactly
// the identifiers of its MetricExpr, and of the metrics it names, that are not metrics or
// literals. The identifiers are read here with a tokenizer of perf's expr.l rules, separate from
// the engine's parser.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "events/metrics/metric_set.h"

namespace {

const std::filesystem::path kMetrics = std::filesystem::path(PMC_SOURCE_DIR) / "data" / "metrics";

// The most milliseconds the largest file may take to load: a few in an optimised build (a
// generous bound for slow CI machines), far more without optimisation or under AddressSanitizer
// (about 20 times slower).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PMC_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(PMC_TEST_ASAN) || !defined(NDEBUG)
constexpr double kLoadLimitMs = 1000;
#else
constexpr double kLoadLimitMs = 50;
#endif

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::filesystem::path> shipped_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kMetrics))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

// perf's expr.l: a symbol is a run of [0-9a-zA-Z_.:@?#] and backslash-escaped characters; one
// that starts with a digit is a number; '@' stands for '/' and an escape for the character.
// Function names, keywords and '#' literals are not events, nor is strcmp_cpuid_str's argument.
// has_event() makes an event's use depend on the machine, so `depends` is set for it.
std::vector<std::string> expression_symbols(const std::string& expr, bool& depends) {
  static const std::set<std::string> kKeywords = {
      "if", "else", "min", "max", "d_ratio", "source_count", "has_event", "strcmp_cpuid_str"};
  std::vector<std::string> out;
  std::string previous;
  for (size_t i = 0; i < expr.size();) {
    char c = expr[i];
    bool symbol_char = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                       c == ':' || c == '@' || c == '?' || c == '#' || c == '\\';
    if (!symbol_char) {
      if (!std::isspace(static_cast<unsigned char>(c))) previous = std::string(1, c);
      ++i;
      continue;
    }
    std::string raw, name;
    while (i < expr.size()) {
      char d = expr[i];
      if (d == '\\' && i + 1 < expr.size()) {
        raw += expr.substr(i, 2);
        name += expr[i + 1];
        i += 2;
        continue;
      }
      if (!(std::isalnum(static_cast<unsigned char>(d)) || d == '_' || d == '.' || d == ':' ||
            d == '@' || d == '?' || d == '#'))
        break;
      raw += d;
      name += d == '@' ? '/' : d;
      ++i;
    }
    bool number =
        std::isdigit(static_cast<unsigned char>(raw[0])) || (raw[0] == '.' && raw.size() > 1);
    bool cpuid_argument = previous == "(" && !out.empty() && out.back() == "strcmp_cpuid_str";
    if (raw == "has_event") depends = true;
    if (!number && !cpuid_argument && raw != "?" && raw[0] != '#' && !kKeywords.count(raw))
      out.push_back(name);
    if (kKeywords.count(raw)) out.push_back(raw);
    previous = raw;
  }
  out.erase(std::remove_if(out.begin(), out.end(),
                           [](const std::string& s) { return kKeywords.count(s) > 0; }),
            out.end());
  return out;
}

struct FileMetric {
  std::string name;
  std::string unit;
  std::vector<std::string> groups;
  std::string expr;
};

// The events metric `index` reads, following the metrics it names (one of its own Unit first,
// else one without a Unit), into `events`.
void collect(const std::vector<FileMetric>& metrics, size_t index, std::set<size_t>& seen,
             std::set<std::string>& events, bool& depends) {
  if (!seen.insert(index).second) return;
  for (const std::string& symbol : expression_symbols(metrics[index].expr, depends)) {
    std::string key = lower(symbol);
    size_t ref = metrics.size();
    for (size_t i = 0; i < metrics.size(); ++i) {
      if (lower(metrics[i].name) != key) continue;
      if (metrics[i].unit == metrics[index].unit) {
        ref = i;
        break;
      }
      if (metrics[i].unit.empty()) ref = i;
    }
    if (ref < metrics.size())
      collect(metrics, ref, seen, events, depends);
    else
      events.insert(symbol);
  }
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("every metric of every shipped metric file loads") {
    auto files = shipped_files();
    CHECK(files.size() >= 20);
    for (const auto& file : files) {
      CAPTURE(file.filename().string());
      size_t in_file = 0;
      for (const auto& entry : read_json(file))
        if (entry.contains("MetricName")) ++in_file;
      auto set = pmc::MetricSet::load(file);
      CHECK(set.metrics().size() == in_file);
    }
  }

  TEST_CASE("each shipped metric asks for the events its expression names, as perf reads them") {
    size_t compared = 0;
    for (const auto& file : shipped_files()) {
      CAPTURE(file.filename().string());
      std::vector<FileMetric> metrics;
      for (const auto& entry : read_json(file)) {
        if (!entry.contains("MetricName")) continue;
        FileMetric m{entry["MetricName"], entry.value("Unit", ""), {}, entry["MetricExpr"]};
        std::stringstream groups(entry.value("MetricGroup", ""));
        for (std::string g; std::getline(groups, g, ';');)
          if (!g.empty()) m.groups.push_back(lower(g));
        metrics.push_back(m);
      }
      auto set = pmc::MetricSet::load(file);
      for (const FileMetric& metric : metrics) {
        // What select() takes for this name: the metrics of that name (each Unit) and the
        // members of a group of that name.
        std::set<std::string> expected;
        std::set<size_t> seen;
        bool depends = false;
        std::string key = lower(metric.name);
        for (size_t i = 0; i < metrics.size(); ++i) {
          const auto& g = metrics[i].groups;
          if (lower(metrics[i].name) == key || std::find(g.begin(), g.end(), key) != g.end())
            collect(metrics, i, seen, expected, depends);
        }
        if (depends) continue;  // has_event(): the events asked for depend on the machine
        std::set<std::string> want, got;
        for (const std::string& e : expected) want.insert(lower(set.resolver_spelling(e)));
        for (const std::string& e : set.required_events({metric.name})) got.insert(lower(e));
        CAPTURE(metric.name);
        CHECK(got == want);
        ++compared;
      }
    }
    CHECK(compared > 3000);
  }

  TEST_CASE("every per-CPU file keeps pmcmodel's group and metric names") {
    // The names measure's default groups, docs/metrics.md and the tests use, merged from
    // scripts/metric-supplement.json into perf's files.
    const std::vector<std::string> topdown = {"tma_frontend_bound", "tma_bad_speculation",
                                              "tma_backend_bound", "tma_retiring"};
    for (const char* file :
         {"skylake.json",       "skylakex.json",      "cascadelake.json",  "icelake.json",
          "icelakex.json",      "tigerlake.json",     "rocketlake.json",   "sapphirerapids.json",
          "emeraldrapids.json", "graniterapids.json", "sierraforest.json", "alderlake.json",
          "meteorlake.json",    "lunarlake.json",     "arrowlake.json",    "zen4.json",
          "zen5.json",          "neoverse.json",      "neoverse-n2.json",  "neoverse-v1.json",
          "neoverse-v2.json"}) {
      CAPTURE(file);
      auto set = pmc::MetricSet::load(kMetrics / file);
      std::set<std::string> in_topdown;
      for (size_t i : set.select({"topdown"})) in_topdown.insert(set.metrics()[i].name);
      for (const std::string& name : topdown) CHECK(in_topdown.count(name) == 1);
      CHECK_FALSE(set.select({"branch_mpki"}).empty());
    }
  }

  TEST_CASE("the largest shipped metric file parses in a few milliseconds") {
    std::filesystem::path largest;
    for (const auto& file : shipped_files())
      if (largest.empty() || std::filesystem::file_size(file) > std::filesystem::file_size(largest))
        largest = file;
    // The CPU time of this thread (not wall time): another process on the CPU does not count.
    auto thread_ms = [] {
      timespec t{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
      return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
    };
    double ms = 1e300;
    for (int i = 0; i < 5; ++i) {
      double start = thread_ms();
      auto set = pmc::MetricSet::load(largest);
      ms = std::min(ms, thread_ms() - start);
      CHECK_FALSE(set.metrics().empty());
    }
    MESSAGE(largest.filename().string() << ": " << ms << " ms");
    // measure loads the machine's file at every start.
    CHECK(ms < kLoadLimitMs);
  }
}
