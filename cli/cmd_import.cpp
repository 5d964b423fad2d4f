// pmcmodel import: perf stat recordings (text, -x CSV, -j JSON, -I intervals) into measurement
// documents, with pmcmodel's derived metrics beside the ones perf printed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/measure_metrics.h"
#include "cli/output.h"
#include "engine/system/input_text.h"
#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/metric_cpu.h"
#include "events/perfstat/reported_agreement.h"
#include "events/text/parallel_free.h"

namespace pmc::cli {
namespace {

struct ImportCliOptions {
  std::vector<std::string> files;
  std::string json_path;
  std::string format = "auto";
  bool lenient = false;
  std::string cpu_model;                   // --cpu: the metric file for the recording's CPU
  unsigned threads = 0;                    // --threads: 0 for one per CPU (at most kMaxThreads)
  std::vector<std::string> metric_names;   // -m: metrics and groups
  std::vector<std::string> metric_paths;   // --metrics: perf's files or directories
  std::vector<std::string> literal_texts;  // --literal NAME=VALUE
};

// The options as checked before any input is read.
struct ImportRequest {
  std::vector<std::filesystem::path> paths;
  std::vector<LiteralSetting> literals;
};

// A long recording's parse, metrics and JSON are split over this many threads at most: the work
// is memory-bound and each thread holds a few megabytes of buffers.
constexpr unsigned kMaxThreads = 8;

unsigned thread_count(const ImportCliOptions& o) {
  if (o.threads != 0) return std::min(o.threads, kMaxThreads);
  return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads);
}

// -m's names in `metrics`, or the command's error naming the files that lack one.
void check_selection(const LoadedMetrics& metrics, const std::vector<std::string>& names) {
  try {
    (void)import_selection(metrics, names);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

// The metric engine's files: generic.json (perf stat's own ratios, top-down from topdown-*
// events), the --cpu file and the --metrics paths. Without --cpu and --metrics a missing data
// directory falls back to derive_metrics rather than refusing the import. With --cpu, -m's names
// are checked here, before any input is read; without, a name these files lack may be in the
// file of the CPU a recording's events show, and is checked once that is chosen
// (check_selection).
std::optional<LoadedMetrics> import_metrics(const ImportCliOptions& o, const ImportRequest& r) {
  std::optional<LoadedMetrics> metrics;
  try {
    metrics = load_metrics(o.cpu_model, MachineInfo{}, r.paths, runtime_param_counts(r.literals));
  } catch (const CommandError&) {
    if (!o.cpu_model.empty() || !r.paths.empty() || !o.metric_names.empty()) throw;
    return std::nullopt;
  }
  if (!o.cpu_model.empty()) check_selection(*metrics, o.metric_names);
  return metrics;
}

PerfStatFormat parse_format(const std::string& f) {
  if (f == "text") return PerfStatFormat::text;
  if (f == "csv") return PerfStatFormat::csv;
  if (f == "json") return PerfStatFormat::json;
  return PerfStatFormat::automatic;
}

// An imported document, and how its intervals' metrics are worked out when they are not in it.
struct Imported {
  Measurement m;
  // Set when the intervals' metrics are left to the JSON writer's threads, which evaluate each
  // interval as they format it: with the metric engine on these metrics, or (no metric files)
  // derive_metrics.
  bool deferred = false;
  std::vector<size_t> per_interval;
  // Without --cpu: the metric files of the CPU family the recording's events show, when they
  // show one (infer_metric_cpu).
  std::optional<LoadedMetrics> inferred;
  Literals literals;  // import_literals of the recording
  const std::optional<LoadedMetrics>& metrics_or(const std::optional<LoadedMetrics>& given) const {
    return inferred ? inferred : given;
  }
};

// Where the metric files were looked for, for the note when there are none (empty otherwise).
std::string missing_metrics_dir(const std::optional<LoadedMetrics>& metrics) {
  return metrics ? std::string() : metrics_dir().string();
}

// The metric files and literals `m` is evaluated with: without --cpu, the files of the CPU
// family its events show (infer_import_metrics); the literals of the recording, of --cpu or the
// family shown, and of --literal. Notes on `m` say which files were chosen and why.
struct MetricChoice {
  std::optional<LoadedMetrics> inferred;
  LiteralLayers layers;
};

MetricChoice choose_metrics(Measurement& m, const ImportCliOptions& o, const ImportRequest& request,
                            const std::optional<LoadedMetrics>& given) {
  // A CPU name's metric files and literals, as infer_import_metrics tries them.
  auto load_cpu = [&](const std::string& cpu) {
    return load_metrics(cpu, MachineInfo{}, request.paths, runtime_param_counts(request.literals));
  };
  auto literals_of = [&](const std::string& cpu) {
    const MetricSet* set = cpu.empty() && given ? &given->set : nullptr;
    return import_literals(m, cpu, request.literals, set).literals();
  };
  MetricChoice choice;
  choice.inferred = infer_import_metrics(m, o.cpu_model, given ? &*given : nullptr, load_cpu,
                                         literals_of, o.metric_names);
  std::string cpu = o.cpu_model;
  if (cpu.empty() && choice.inferred)
    if (auto inferred = infer_metric_cpu(m)) cpu = inferred->cpu;
  const std::optional<LoadedMetrics>& metrics = choice.inferred ? choice.inferred : given;
  if (metrics) check_selection(*metrics, o.metric_names);
  choice.layers = import_literals(m, cpu, request.literals, metrics ? &metrics->set : nullptr);
  if (metrics) note_unknown_slots(m, metrics->set, choice.layers);
  return choice;
}

// What tells two choices apart: the files chosen and the literals with their sources.
struct ChoiceKey {
  bool inferred = false;
  std::vector<std::string> files;
  std::string literals;
  explicit ChoiceKey(const MetricChoice& c)
      : inferred(c.inferred.has_value()),
        files(c.inferred ? c.inferred->files : std::vector<std::string>{}),
        literals(c.layers.describe()) {}
  bool operator==(const ChoiceKey&) const = default;
};

// `defer`: leave the intervals' metrics to the writer (import --json).
Imported import_one(const std::string& path, const ImportCliOptions& o,
                    const ImportRequest& request, const std::optional<LoadedMetrics>& given,
                    bool defer) {
  ImportOptions options;
  options.format = parse_format(o.format);
  options.lenient = o.lenient;
  options.threads = thread_count(o);
  ImportResult r;
  try {
    r = import_perf_stat(InputText(path).text(), path, options);
  } catch (const ImportError& e) {
    throw CommandError(e.what());
  }
  for (const auto& s : r.skipped) std::fprintf(stderr, "pmcmodel import: skipped %s\n", s.c_str());
  Imported out{std::move(r.measurement), false, {}, std::nullopt, {}};
  Measurement& m = out.m;
  MetricChoice choice = choose_metrics(m, o, request, given);
  out.inferred = std::move(choice.inferred);
  const std::optional<LoadedMetrics>& metrics = out.metrics_or(given);
  out.literals = choice.layers.literals();
  auto plan = derive_import_metrics(m, metrics ? &*metrics : nullptr, defer, thread_count(o),
                                    missing_metrics_dir(metrics), o.metric_names, out.literals);
  if (metrics && !choice.layers.describe().empty())
    m.notes.push_back("metric literals: " + choice.layers.describe());
  out.deferred = plan.deferred;
  out.per_interval = std::move(plan.per_interval);
  note_disagreements(
      m, metrics ? &metrics->set : nullptr,
      metrics ? import_selection(*metrics, o.metric_names) : std::vector<std::string>{},
      out.literals);
  return out;
}

// What the writer's threads find in the intervals whose metrics they evaluate: one
// IntervalAgreement per thread, merged into the document's notes once every interval is written.
class WriterAgreement {
 public:
  std::shared_ptr<IntervalAgreement> part(const MetricSet* set, std::vector<size_t> selected,
                                          Literals literals) {
    std::lock_guard lock(mutex_);
    return parts_.emplace_back(
        std::make_shared<IntervalAgreement>(set, std::move(selected), std::move(literals)));
  }
  // After the writer's threads have stopped.
  void add_notes(Measurement& m) const {
    IntervalAgreement all;
    for (const auto& p : parts_) all.merge(*p);
    auto notes = all.notes();
    m.notes.insert(m.notes.end(), notes.begin(), notes.end());
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<IntervalAgreement>> parts_;
};

// What each writer thread evaluates the intervals' metrics with, for a deferred document; each
// interval's are compared with what perf printed in it, in `agreement`.
IntervalMetricsFactory interval_metrics_of(const Imported& doc,
                                           const std::optional<LoadedMetrics>& given,
                                           WriterAgreement& agreement) {
  if (!doc.deferred) return {};
  const std::optional<LoadedMetrics>& metrics = doc.metrics_or(given);
  if (!metrics) {
    return [&agreement]() -> IntervalMetricsFn {
      auto tally = agreement.part(nullptr, {}, {});
      return [tally](const Interval& iv, std::vector<Metric>& out) {
        out = as_interval_metrics(derive_metrics(iv.events, metric_seconds(iv)));
        if (!iv.reported.empty()) tally->add(iv, out);
      };
    };
  }
  const MetricSet& set = metrics->set;
  const std::vector<size_t>& selected = doc.per_interval;
  const Literals& literals = doc.literals;
  return [&set, &selected, &literals, &agreement]() -> IntervalMetricsFn {
    auto evaluator = std::make_shared<IntervalMetricEvaluator>(set, selected, literals);
    auto groups = std::make_shared<PrintedGroupEvaluator>(set, selected, literals);
    auto tally = agreement.part(&set, selected, literals);
    return [evaluator, groups, tally](const Interval& iv, std::vector<Metric>& out) {
      evaluator->evaluate_into(iv.events, metric_seconds(iv), out);
      groups->evaluate(iv.events, metric_seconds(iv), iv.reported, out, false);
      if (!iv.reported.empty()) tally->add(iv, out);
    };
  };
}

// Frees the documents' intervals on `threads` threads when the import is done.
struct FreedInParallel {
  std::vector<Imported>& docs;
  unsigned threads;
  ~FreedInParallel() {
    for (auto& doc : docs) free_in_parallel(doc.m.intervals, threads);
  }
};

// The events of the first intervals of a streamed recording, as the run's would name them (the
// first of each name, a counted one where there is one): what the metric files and literals are
// chosen from before the run's sums are known.
Measurement events_of(const std::vector<Interval>& intervals) {
  Measurement probe;
  probe.source = "perf-stat";
  std::map<std::string, size_t, std::less<>> index;
  for (const auto& iv : intervals) {
    for (const auto& e : iv.events) {
      auto [it, inserted] = index.try_emplace(e.name, probe.events.size());
      if (inserted)
        probe.events.push_back(e);
      else if (e.counted() && !probe.events[it->second].counted())
        probe.events[it->second] = e;
    }
  }
  return probe;
}

// Thrown when the run, read to its end, chooses other metric files or literals than its first
// intervals did (an event counted only later): the intervals written are then not the document's.
struct ChoiceChanged {};

// One -x CSV recording to a JSON file: its intervals are written while it is read, so that a
// long recording is never held whole (a 100 MB one was ~450 MB of intervals). The document is
// the one the other path writes; on an error the file is not written. The metric files and
// literals of the intervals are chosen from the events of the first batch of intervals, as
// import_one chooses them from the run's; the run's choice is checked against it at the end, and
// ChoiceChanged thrown when they differ.
void import_streamed(const std::string& path, const InputText& input, const ImportCliOptions& o,
                     const ImportRequest& request, const std::optional<LoadedMetrics>& given,
                     const std::string& out_path) {
  ImportOptions options;
  options.format = PerfStatFormat::csv;
  options.lenient = o.lenient;
  options.threads = thread_count(o);
  Imported plan{Measurement{}, true, {}, std::nullopt, {}};
  std::optional<ChoiceKey> early;
  auto decide = [&](MetricChoice& choice) {
    plan.inferred = std::move(choice.inferred);
    plan.literals = choice.layers.literals();
    plan.per_interval.clear();
    if (const auto& metrics = plan.metrics_or(given)) {
      auto selection = import_selection(*metrics, o.metric_names);
      if (!selection.empty()) plan.per_interval = metrics->set.select(selection);
    }
  };
  // The writer's threads make their evaluators on their first batch, after decide().
  WriterAgreement agreement;
  IntervalMetricsFactory interval_metrics = [&] {
    return interval_metrics_of(plan, given, agreement)();
  };
  write_file_atomically(out_path, [&](const FileAppender& append) {
    StreamedDocumentWriter writer(perf_stat_streamed_head(input.text()), append, interval_metrics,
                                  options.threads);
    ImportResult r;
    try {
      r = import_perf_stat_streamed(
          input.text(), path, options, [&](size_t batch, std::vector<Interval>&& intervals) {
            if (batch == 0) {
              Measurement probe = events_of(intervals);
              MetricChoice choice = choose_metrics(probe, o, request, given);
              early.emplace(choice);
              decide(choice);
            }
            writer.add_batch(batch, std::move(intervals));
          });
    } catch (const ImportError& e) {
      throw CommandError(e.what());
    }
    MetricChoice choice = choose_metrics(r.measurement, o, request, given);
    if (early && !(*early == ChoiceKey(choice))) throw ChoiceChanged{};
    for (const auto& s : r.skipped)
      std::fprintf(stderr, "pmcmodel import: skipped %s\n", s.c_str());
    LiteralLayers layers = choice.layers;
    if (!early) decide(choice);
    const std::optional<LoadedMetrics>& metrics = plan.metrics_or(given);
    std::vector<std::string> selection;
    if (metrics) selection = import_selection(*metrics, o.metric_names);
    derive_run_metrics(r.measurement, metrics ? &*metrics : nullptr, selection,
                       missing_metrics_dir(metrics), plan.literals);
    if (metrics && !layers.describe().empty())
      r.measurement.notes.push_back("metric literals: " + layers.describe());
    note_disagreements(r.measurement, metrics ? &metrics->set : nullptr, selection, plan.literals);
    writer.flush();
    agreement.add_notes(r.measurement);
    writer.finish(r.measurement);
  });
}

// Whether --json names a directory receiving <input name>.json per input: always with several
// inputs; with one, when it is an existing directory or ends with '/' (a glob that matched one
// file, `--json imported/`).
bool json_into_directory(const ImportCliOptions& o) {
  const std::string& path = o.json_path;
  if (path.empty() || path == "-") return false;
  if (o.files.size() >= 2) return true;
  std::error_code ec;
  return path.ends_with('/') || std::filesystem::is_directory(path, ec);
}

// The document of input i in the --json directory.
std::string json_in_directory(const ImportCliOptions& o, size_t i) {
  auto name = std::filesystem::path(o.files[i]).filename().string() + ".json";
  return (std::filesystem::path(o.json_path) / name).string();
}

// With several inputs --json names a directory (an existing one, or one to create): checked before
// anything is read, so that a file name given by mistake (one.json) or stdout is refused, not
// made into a directory; and two inputs of one file name (d1/run.txt, d2/run.txt), whose
// documents would be one file, are refused before either is written.
void check_json_directory(const ImportCliOptions& o) {
  if (o.files.size() < 2 || o.json_path.empty()) return;
  const std::string& path = o.json_path;
  auto refuse = [&](std::string_view why) {
    throw CommandError(
        fmt::format("{}: with {} inputs, --json must name a directory (one document "
                    "per input); {}",
                    path, o.files.size(), why));
  };
  if (path == "-") refuse("stdout takes one document: import one file at a time");
  std::map<std::string, size_t> first_of;
  for (size_t i = 0; i < o.files.size(); ++i) {
    auto [it, inserted] = first_of.try_emplace(json_in_directory(o, i), i);
    if (!inserted)
      throw CommandError(
          fmt::format("{} and {}: both would be written to {}: import inputs of one file name into "
                      "different --json directories",
                      o.files[it->second], o.files[i], it->first));
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
    refuse("it is not a directory");
  if (std::filesystem::path(path).extension() == ".json")
    refuse(
        "a name ending in .json reads as a file: give a directory name (imported/), or end it "
        "with / to have one made");
}

// A document written over one of the recordings (`import run.txt --json run.txt`, a slip at
// the shell, or a directory that holds an input named like a document) would destroy the
// recording: refused before anything is read. Both must exist to be one file.
void check_outputs_spare_inputs(const ImportCliOptions& o) {
  if (o.json_path.empty() || o.json_path == "-") return;
  const bool into_directory = json_into_directory(o);
  for (size_t i = 0; i < o.files.size(); ++i) {
    std::string out = into_directory ? json_in_directory(o, i) : o.json_path;
    for (const auto& in : o.files) {
      std::error_code ec;
      if (std::filesystem::equivalent(out, in, ec))
        throw CommandError(fmt::format(
            "{}: --json would write the document over the recording {}: give another name", out,
            in));
    }
  }
}

int run_import(const ImportCliOptions& o) {
  check_json_directory(o);
  check_outputs_spare_inputs(o);
  const bool into_directory = json_into_directory(o);
  auto make_directory = [&] {
    std::error_code ec;
    std::filesystem::create_directories(o.json_path, ec);
    if (!std::filesystem::is_directory(o.json_path))
      throw CommandError(fmt::format("{}: cannot make the --json directory{}", o.json_path,
                                     ec ? ": " + ec.message() : std::string()));
  };
  ImportRequest request{metric_paths(o.metric_paths), parse_literal_settings(o.literal_texts)};
  auto metrics = import_metrics(o, request);
  if (o.files.size() == 1 && !o.json_path.empty() && o.json_path != "-") {
    InputText input(o.files[0]);
    auto format = parse_format(o.format);
    if (format == PerfStatFormat::automatic) format = detect_format(input.text());
    if (format == PerfStatFormat::csv) {
      try {
        if (into_directory) make_directory();
        import_streamed(o.files[0], input, o, request, metrics,
                        into_directory ? json_in_directory(o, 0) : o.json_path);
        return 0;
      } catch (const ChoiceChanged&) {
        // Read whole below: the intervals get the run's choice.
      }
    }
  }
  // Every input is read and checked before anything is written.
  std::vector<Imported> docs;
  FreedInParallel freed{docs, thread_count(o)};
  bool to_json = !o.json_path.empty();
  for (const auto& f : o.files) docs.push_back(import_one(f, o, request, metrics, to_json));
  if (!to_json) {
    for (const auto& doc : docs) std::fputs(format_table(doc.m).c_str(), stdout);
    return 0;
  }
  auto write_json = [&](const std::string& path, Imported& doc) {
    JsonWriteOptions options;
    options.threads = thread_count(o);
    WriterAgreement agreement;
    options.interval_metrics = interval_metrics_of(doc, metrics, agreement);
    options.release_written = true;
    options.before_tail = [&agreement](Measurement& m) { agreement.add_notes(m); };
    write_file_atomically(
        path, [&](const FileAppender& append) { write_measurement_json(doc.m, append, options); });
  };
  if (!into_directory) {
    write_json(o.json_path, docs[0]);
    return 0;
  }
  // --json names a directory that receives <input name>.json for each input.
  make_directory();
  for (size_t i = 0; i < docs.size(); ++i) write_json(json_in_directory(o, i), docs[i]);
  return 0;
}

}  // namespace

Runner add_import(CLI::App& app) {
  auto o = std::make_shared<ImportCliOptions>();
  auto* cmd =
      app.add_subcommand("import", "Import perf stat recordings (text, CSV, JSON, intervals)");
  cmd->add_option("files", o->files, "perf stat outputs")->required();
  cmd->add_option("--json", o->json_path,
                  "Write the measurement document (- = stdout); a directory for several inputs");
  cmd->add_option("--format", o->format, "auto (default), text, csv (-x SEP) or json (-j)")
      ->check(CLI::IsMember({"auto", "text", "csv", "json"}));
  cmd->add_flag("--lenient", o->lenient,
                "Import the good part of a damaged file (negative counts too), listing what was "
                "skipped; a line over 1 MiB still stops it");
  cmd->add_option("--cpu", o->cpu_model,
                  "CPU the recording was made on (skylake, icelake, spr, zen4, neoverse-n2…): "
                  "derive its metric file's metrics too (docs/metrics.md)");
  cmd->add_option("-m", o->metric_names,
                  "Metrics or metric groups to derive (ipc, topdown, perf's TopdownL1, TmaL1, "
                  "Default…, or metric names); default ipc,branch,cache,stalls,topdown,memory")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--metrics", o->metric_paths,
                  "Metric files to add to generic.json: perf's pmu-events/arch/<arch>/<cpu>/ "
                  "directory, a folder of Intel perfmon files, or one metric file (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--literal", o->literal_texts,
                  "A #literal of the formulas, NAME=VALUE (smt_on=1, num_cpus=64, slots=5…; "
                  "repeatable); it wins over the recording's and --cpu's (docs/metrics.md)")
      ->allow_extra_args(false);
  cmd->add_option("--threads", o->threads,
                  "Threads for a long -x -I recording's parse, metrics and JSON (default: one "
                  "per CPU, at most 8; 1 for none); the document is the same for any number")
      ->check(CLI::Range(0u, 1024u));
  cmd->footer(
      "Examples:\n"
      "  perf stat -o run.txt -- ./app && pmcmodel import run.txt --json run.json\n"
      "  pmcmodel import fleet/*.csv --json imported/         one document per file\n"
      "  pmcmodel import --format csv --lenient damaged.txt   the readable part, skips listed\n"
      "  pmcmodel import run.txt --metrics linux/tools/perf/pmu-events/arch/x86/skylake -m "
      "TopdownL1\n"
      "  pmcmodel import run.txt --cpu skylake --literal smt_on=1   a recording with SMT on\n"
      "Exit status: 2 with 'FILE:LINE: what was expected' for input that is not a perf stat "
      "recording.");
  return [o] { return run_import(*o); };
}

}  // namespace pmc::cli
