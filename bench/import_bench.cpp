// Import speed of a long interval recording: `perf stat -I 100 -x,` CSV
// of 100 MB imported at >= 100 MB/s. The peer, measured in the same run on the same buffer, is
// counting its lines with memchr (what `wc -l` does): the least any importer must do.
// Built by bench/CMakeLists.txt (target import_bench); results in docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/metrics/metric_set.h"
#include "events/perfstat/import_perfstat.h"
#include "pmcmodel_version.h"

namespace {

// A recording in perf 6.x's -I 100 -x, layout (tools/perf/util/stat-display.c: "%6lu.%09lu"
// timestamp padded to 15 columns, then count,unit,event,run-time,pct,metric-value,metric-unit),
// 16 events per interval as `perf stat -I 100 -x, -d` prints them, counts varying per interval.
const std::string& recording(size_t bytes) {
  static std::string text;
  if (text.size() >= bytes) return text;
  struct Row {
    const char* unit;
    const char* event;
    double base;
    const char* metric_unit;
  };
  static const Row rows[] = {
      {"msec", "task-clock", 100.2, "CPUs utilized"},
      {"", "context-switches", 12, "/sec"},
      {"", "cpu-migrations", 1, "/sec"},
      {"", "page-faults", 640, "K/sec"},
      {"", "cycles", 320456789, "GHz"},
      {"", "stalled-cycles-frontend", 12345678, "frontend cycles idle"},
      {"", "stalled-cycles-backend", 45678901, "backend cycles idle"},
      {"", "instructions", 640913578, "insn per cycle"},
      {"", "branches", 120456789, "M/sec"},
      {"", "branch-misses", 1234567, "of all branches"},
      {"", "L1-dcache-loads", 210987654, "M/sec"},
      {"", "L1-dcache-load-misses", 9876543, "of all L1-dcache accesses"},
      {"", "LLC-loads", 1234567, "K/sec"},
      {"", "LLC-load-misses", 234567, "of all LL-cache accesses"},
      {"", "dTLB-loads", 198765432, "M/sec"},
      {"", "dTLB-load-misses", 123456, "of all dTLB cache accesses"},
  };
  text.clear();
  text.reserve(bytes + 4096);
  for (unsigned long i = 1; text.size() < bytes; ++i) {
    double t = double(i) * 0.100012345;
    auto secs = static_cast<unsigned long>(t);
    auto nanos = static_cast<unsigned long>((t - double(secs)) * 1e9);
    std::string stamp = fmt::format("{:6}.{:09}", secs, nanos);
    for (const auto& r : rows) {
      double v = r.base * (1.0 + 0.001 * double((i * 7919 + std::strlen(r.event)) % 97));
      std::string count = *r.unit ? fmt::format("{:.2f}", v) : fmt::format("{:.0f}", v);
      double pct = 50 + double((i + std::strlen(r.event)) % 50);
      text += fmt::format("{},{},{},{},{},{:.2f},{:.2f},{}\n", stamp, count, r.unit, r.event,
                          100000000 + i % 1000, pct, v / r.base, r.metric_unit);
    }
  }
  return text;
}

constexpr size_t kBytes = 100u << 20;

// What `pmcmodel import` does to a recording: import it as -x, CSV, then derive its metrics with
// generic.json's import groups on the run and every interval.
struct ImportPipeline {
  pmc::MetricSet set =
      pmc::MetricSet::load(std::filesystem::path(PMCMODEL_DATA_DIR) / "metrics" / "generic.json");
  std::vector<std::string> selection = pmc::available_selection(set, pmc::import_metric_groups());

  static pmc::ImportResult import(const std::string& text, unsigned threads = 1) {
    pmc::ImportOptions options;
    options.format = pmc::PerfStatFormat::csv;
    options.threads = threads;
    return pmc::import_perf_stat(text, "bench.csv", options);
  }
  pmc::ImportResult import_and_derive(const std::string& text) const {
    auto result = import(text);
    pmc::apply_metric_engine(result.measurement, set, selection);
    return result;
  }
};

void BM_ImportInterval100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  size_t intervals = 0;
  for (auto _ : state) {
    auto result = ImportPipeline::import(text);
    intervals = result.measurement.intervals.size();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["intervals"] = double(intervals);
}

// The import cut into parts read on `threads` threads (pmcmodel import's default on this 2-CPU
// machine): wall time, since the CPU time of the main thread alone says nothing.
void BM_ImportIntervalThreads100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  for (auto _ : state) {
    auto result = ImportPipeline::import(text, unsigned(state.range(0)));
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}

// What `pmcmodel import` does: the import, then the metric engine on the run and every interval.
void BM_ImportAndDerive100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  ImportPipeline pipeline;
  for (auto _ : state) {
    auto result = pipeline.import_and_derive(text);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}

// All of `pmcmodel import FILE --json OUT` but the file system: import, metrics, and the JSON
// document as a string.
void BM_ImportDeriveJson100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  ImportPipeline pipeline;
  size_t json_bytes = 0;
  for (auto _ : state) {
    std::string json = pmc::measurement_to_json(pipeline.import_and_derive(text).measurement);
    json_bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["json_MB"] = double(json_bytes) / 1048576.0;
}

// The JSON writer alone, on the document of the import above.
void BM_WriteJson100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  auto measurement = ImportPipeline().import_and_derive(text).measurement;
  for (auto _ : state) {
    std::string json = pmc::measurement_to_json(measurement);
    benchmark::DoNotOptimize(json);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}

// The document in pieces as `pmcmodel import --json` writes it (write_measurement_json), to a
// sink that only counts the bytes, on `threads` threads; wall time.
void BM_WriteJsonPieces100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  auto measurement = ImportPipeline().import_and_derive(text).measurement;
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    pmc::write_measurement_json(
        measurement, [&](std::string_view piece) { bytes += piece.size(); },
        unsigned(state.range(0)));
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["json_MB"] = double(bytes) / 1048576.0;
}

// What `pmcmodel import FILE.csv --json OUT` does without the file system: the recording streamed
// part by part (import_perf_stat_streamed) into the JSON writer, each interval's metrics
// evaluated as it is formatted, on `threads` threads, to a sink that only counts the bytes; wall
// time.
void BM_ImportStreamedJson100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  ImportPipeline pipeline;
  auto selected = pipeline.set.select(pipeline.selection);
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    pmc::ImportOptions options;
    options.format = pmc::PerfStatFormat::csv;
    options.threads = unsigned(state.range(0));
    pmc::Measurement head;
    head.source = "perf-stat";
    pmc::StreamedDocumentWriter writer(
        head, [&](std::string_view piece) { bytes += piece.size(); },
        [&]() -> pmc::IntervalMetricsFn {
          auto evaluator = std::make_shared<pmc::IntervalMetricEvaluator>(pipeline.set, selected);
          return [evaluator](const pmc::Interval& iv, std::vector<pmc::Metric>& out) {
            evaluator->evaluate_into(iv.events, iv.duration_s, out);
          };
        },
        options.threads);
    auto result = pmc::import_perf_stat_streamed(
        text, "bench.csv", options, [&](size_t batch, std::vector<pmc::Interval>&& intervals) {
          writer.add_batch(batch, std::move(intervals));
        });
    result.measurement.metrics =
        pmc::plan_metric_engine(result.measurement, pipeline.set, pipeline.selection).run;
    writer.finish(result.measurement);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["json_MB"] = double(bytes) / 1048576.0;
}

// The peer: count the lines (wc -l) of the same buffer.
void BM_CountLines100MB(benchmark::State& state) {
  const std::string& text = recording(kBytes);
  for (auto _ : state) {
    size_t lines = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)))) != nullptr) {
      ++lines;
      ++p;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}

}  // namespace

BENCHMARK(BM_CountLines100MB)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_ImportInterval100MB)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ImportIntervalThreads100MB)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->Arg(2)
    ->UseRealTime();
BENCHMARK(BM_ImportAndDerive100MB)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_WriteJson100MB)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_WriteJsonPieces100MB)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime();
BENCHMARK(BM_ImportDeriveJson100MB)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_ImportStreamedJson100MB)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime();

// `import_bench --write-recording PATH` writes the 100 MiB recording to PATH and exits, for timing
// the real command (`pmcmodel import PATH --json OUT`) on the same input.
int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-recording") == 0) {
    const std::string& text = recording(kBytes);
    std::FILE* f = std::fopen(argv[2], "wb");
    bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (f != nullptr) ok = std::fclose(f) == 0 && ok;
    if (!ok) std::perror(argv[2]);
    return ok ? 0 : 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
