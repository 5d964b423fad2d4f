// pmcmodel serve: a Prometheus exporter of the machine's energy (RAPL, NVIDIA and AMD GPUs) and of
// each cgroup's share of it, its CPU time and (where the PMU exists) its counters. docs/serve.md.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/measure_model.h"
#include "engine/serve/sampler.h"
#include "engine/serve/server.h"
#include "engine/workloads/calibration.h"
#include "events/names/resolver.h"
#include "models/fit/feature_transforms.h"
#include "pmcmodel_version.h"

namespace pmc::cli {

namespace {

// The default port: not in the Prometheus wiki's default-port allocations as far as the copy we
// could read goes (docs/serve.md says which copy, and how to choose another with --listen).
constexpr const char* kDefaultListen = ":9648";

struct ServeOptions {
  std::string listen = kDefaultListen;
  double interval_s = 1;
  std::string cgroups = "auto";
  std::vector<std::string> models;
  std::string gpus = "all";
};

void log_line(const std::string& line) {
  std::fprintf(stderr, "pmcmodel serve: %s\n", line.c_str());
  std::fflush(stderr);
}

// The events a model's `<event>_per_s` inputs stand for, as the resolver names them: the name
// calibrate recorded in the model (machine.events), else the column's stem with '_' or '-'.
std::vector<std::string> model_events(const std::vector<MeasureModel>& models,
                                      const EventResolver& resolver) {
  std::vector<std::string> out;
  auto add = [&](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& mm : models) {
    for (const auto& t : mm.model.terms) {
      for (const auto& col : input_columns(t.spec)) {
        constexpr std::string_view suffix = "_per_s";
        if (col.size() <= suffix.size() || !col.ends_with(suffix)) continue;
        std::vector<std::string> candidates;
        const auto& ev = mm.model.machine;
        if (ev.contains("events") && ev["events"].is_object() && ev["events"].contains(col) &&
            ev["events"][col].is_string())
          candidates.push_back(ev["events"][col].get<std::string>());
        std::string stem = col.substr(0, col.size() - suffix.size());
        candidates.push_back(stem);
        std::replace(stem.begin(), stem.end(), '_', '-');
        candidates.push_back(stem);
        for (const auto& c : candidates) {
          try {
            resolver.resolve(c);
            add(c);
            break;
          } catch (const std::exception&) {
          }
        }
      }
    }
  }
  return out;
}

serve::NamedEstimator estimator_of(std::shared_ptr<const MeasureModel> mm) {
  return {"model:" + mm->path, [mm](const Measurement& interval) {
            Measurement m = interval;
            size_t measured = m.energy.size();
            add_model_estimates({*mm}, m);
            serve::Estimate e;
            e.energy.assign(m.energy.begin() + long(measured), m.energy.end());
            if (e.energy.empty())
              e.reason_if_none = m.notes.empty() ? "the model's target is not watts" : m.notes[0];
            return e;
          }};
}

// Blocks the stop signals in every thread started after it (the sampler, the HTTP workers), so
// that only sigwait() below sees them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int run_serve(const ServeOptions& o) {
  std::string host;
  int port = 0;
  if (!serve::parse_listen_address(o.listen, &host, &port))
    throw CommandError("--listen " + o.listen + ": expected HOST:PORT, :PORT or [V6]:PORT");
  if (!(o.interval_s >= 0.1 && o.interval_s <= 30))
    throw CommandError(fmt::format(
        "--interval {}: expected 0.1 to 30 seconds (powercap counters can wrap in about a "
        "minute at high power, and each wrap must be seen)",
        o.interval_s));
  std::string error;
  auto selection = serve::parse_cgroup_selection(o.cgroups == "none" ? "" : o.cgroups, &error);
  if (!selection) throw CommandError("--cgroups: " + error);

  auto gpus = parse_gpu_selection(o.gpus);
  if (!gpus)
    throw CommandError("--gpus " + o.gpus + ": expected all, none or indices (0,2 or 0-3)");

  // The HTTP module first: without it nothing can be served, and nothing should be sampled.
  try {
    serve::load_http_module();
  } catch (const std::runtime_error& e) {  // missing, or from another build
    throw CommandError(e.what(), ExitStatus::environment);
  }
  SysRoot root = SysRoot::from_env();
  serve::SamplerSettings settings;
  settings.interval_s = o.interval_s;
  settings.cgroups = *selection;
  settings.version = PMCMODEL_VERSION;
  settings.log = log_line;
  settings.gpus = *gpus;
  if (!o.models.empty()) {
    auto models = load_measure_models(o.models);
    EventResolver resolver(root);
    settings.machine_events = model_events(models, resolver);
    for (auto& mm : models)
      settings.estimators.push_back(estimator_of(std::make_shared<const MeasureModel>(mm)));
  }

  sigset_t stop_signals = block_stop_signals();
  std::unique_ptr<serve::Sampler> made;
  try {
    made = std::make_unique<serve::Sampler>(root, std::move(settings));
  } catch (const std::invalid_argument& e) {  // --gpus names a GPU neither NVML nor AMD SMI sees
    throw CommandError(e.what());
  }
  serve::Sampler& sampler = *made;
  serve::MetricsServer server(sampler);
  if (!server.bind(host, port, &error)) throw CommandError(error, ExitStatus::environment);
  sampler.start();
  log_line(fmt::format("listening on {} (GET /metrics, /healthz), sampling every {} s",
                       serve::format_listen_address(host, server.port()), o.interval_s));
  std::atomic<bool> served{false};
  std::thread http([&] {
    server.serve();
    served = true;
  });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log_line(fmt::format("{}: stopping", sig == SIGTERM  ? "SIGTERM"
                                       : sig == SIGINT ? "SIGINT"
                                                       : "SIGHUP"));
  // stop() only acts once the server is accepting; until then, ask again.
  while (!served) {
    server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  http.join();
  sampler.stop();
  return 0;
}

}  // namespace

Runner add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve", "Export energy, power and per-cgroup attribution to Prometheus (GET /metrics)");
  cmd->add_option(
      "--listen", o->listen,
      fmt::format("HOST:PORT, :PORT or [V6]:PORT to serve on (default {})", kDefaultListen));
  cmd->add_option("--interval", o->interval_s, "Seconds between samples (default 1, 0.1-30)");
  cmd->add_option("--cgroups", o->cgroups,
                  "cgroup v2 paths and globs under the cgroup2 mount, comma-separated; auto "
                  "(services, containers, pods: the default) or none");
  cmd->add_option("--gpus", o->gpus,
                  "GPUs to export (NVIDIA's through NVML, then AMD's through AMD SMI): all (the "
                  "default), none, or indices \"0,2\", \"0-3\"");
  cmd->add_option("--model", o->models,
                  "A calibrated model (calibrate/fit) whose power estimate is exported beside "
                  "the measurements, method=\"model:FILE\"; repeatable")
      ->allow_extra_args(false);
  cmd->footer(
      "Examples:\n  pmcmodel serve\n  pmcmodel serve --listen 127.0.0.1:9648 --cgroups "
      "'system.slice/*.service'\n  curl -s localhost:9648/metrics");
  return [o] { return run_serve(*o); };
}

}  // namespace pmc::cli
