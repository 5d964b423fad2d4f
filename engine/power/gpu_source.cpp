#include "engine/power/gpu_source.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "engine/power/amdsmi.h"
#include "engine/power/nvml.h"
#include "engine/system/processes.h"

namespace pmc {

const char* const kGpuDomainsNote =
    "GPU domains (gpu0, gpu1…) are beside the CPU's: no RAPL domain (package, psys) contains "
    "a GPU card, a wall meter does";

GpuSource::~GpuSource() = default;

namespace {

bool parse_index(std::string_view s, unsigned& out) {
  if (s.empty() || s.size() > 4) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  out = v;
  return true;
}

// Several libraries' sources as one: each call goes to every part, and the readings come back
// with every part's machine readings first, then every part's command shares, as one source
// gives them.
class CombinedGpuSource final : public GpuSource {
 public:
  explicit CombinedGpuSource(std::vector<std::unique_ptr<GpuSource>> parts)
      : parts_(std::move(parts)) {
    for (const auto& p : parts_) infos_.insert(infos_.end(), p->gpus().begin(), p->gpus().end());
  }

  std::string method() const override { return parts_.front()->method(); }
  const std::vector<GpuInfo>& gpus() const override { return infos_; }
  void set_command_processes(CommandProcesses is_command) override {
    for (auto& p : parts_) p->set_command_processes(is_command);
  }
  int sample_ms() const override {
    int ms = parts_.front()->sample_ms();
    for (const auto& p : parts_) ms = std::min(ms, p->sample_ms());
    return ms;
  }
  void start() override {
    for (auto& p : parts_) p->start();
  }
  void sample() override {
    for (auto& p : parts_) p->sample();
  }
  std::vector<EnergyReading> read_since_start() override {
    std::vector<std::vector<EnergyReading>> each;
    for (auto& p : parts_) each.push_back(p->read_since_start());
    return machine_first(std::move(each));
  }
  std::vector<EnergyReading> read_interval() override {
    std::vector<std::vector<EnergyReading>> each;
    for (auto& p : parts_) each.push_back(p->read_interval());
    return machine_first(std::move(each));
  }
  void mark_interval() override {
    for (auto& p : parts_) p->mark_interval();
  }
  std::vector<std::vector<EnergyReading>> take_marked_intervals() override {
    std::vector<std::vector<std::vector<EnergyReading>>> each;
    size_t n = 0;
    for (auto& p : parts_) {
      each.push_back(p->take_marked_intervals());
      n = std::max(n, each.back().size());
    }
    std::vector<std::vector<EnergyReading>> out(n);
    for (size_t k = 0; k < n; ++k) {
      std::vector<std::vector<EnergyReading>> at_k;
      for (auto& e : each)
        if (k < e.size()) at_k.push_back(std::move(e[k]));
      out[k] = machine_first(std::move(at_k));
    }
    return out;
  }
  std::vector<GpuActivity> last_activity() const override {
    std::vector<GpuActivity> out;
    for (const auto& p : parts_) {
      auto a = p->last_activity();
      out.insert(out.end(), a.begin(), a.end());
    }
    return out;
  }
  std::vector<std::vector<GpuActivity>> take_marked_activity() override {
    std::vector<std::vector<GpuActivity>> out;
    for (auto& p : parts_) {
      auto marked = p->take_marked_activity();
      if (out.size() < marked.size()) out.resize(marked.size());
      for (size_t k = 0; k < marked.size(); ++k)
        out[k].insert(out[k].end(), marked[k].begin(), marked[k].end());
    }
    return out;
  }
  std::vector<GpuProcesses> read_processes() override {
    std::vector<GpuProcesses> out;
    for (auto& p : parts_) {
      auto each = p->read_processes();
      out.insert(out.end(), each.begin(), each.end());
    }
    return out;
  }
  std::vector<GpuReadProblem> read_problems() const override {
    std::vector<GpuReadProblem> out;
    for (const auto& p : parts_) {
      auto each = p->read_problems();
      out.insert(out.end(), each.begin(), each.end());
    }
    return out;
  }
  // Each part's notes, a sentence that several parts give said once.
  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& p : parts_)
      for (auto& n : p->notes())
        if (seen.insert(n).second) out.push_back(std::move(n));
    return out;
  }

 private:
  static std::vector<EnergyReading> machine_first(std::vector<std::vector<EnergyReading>> each) {
    std::vector<EnergyReading> out;
    for (auto scope : {EnergyScope::machine, EnergyScope::command})
      for (auto& readings : each)
        for (auto& r : readings)
          if (r.scope == scope) out.push_back(std::move(r));
    return out;
  }

  std::vector<std::unique_ptr<GpuSource>> parts_;
  std::vector<GpuInfo> infos_;
};

}  // namespace

std::optional<GpuSelection> parse_gpu_selection(std::string_view text) {
  GpuSelection s;
  if (text == "all") return s;
  if (text == "none") {
    s.kind = GpuSelection::Kind::none;
    return s;
  }
  s.kind = GpuSelection::Kind::list;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    auto dash = item.find('-');
    unsigned a = 0, b = 0;
    if (dash == std::string_view::npos) {
      if (!parse_index(item, a)) return std::nullopt;
      b = a;
    } else if (!parse_index(item.substr(0, dash), a) || !parse_index(item.substr(dash + 1), b) ||
               b < a) {
      return std::nullopt;
    }
    for (unsigned i = a; i <= b; ++i) s.indices.push_back(i);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(s.indices.begin(), s.indices.end());
  s.indices.erase(std::unique(s.indices.begin(), s.indices.end()), s.indices.end());
  return s;
}

bool selects(const GpuSelection& selection, unsigned index) {
  switch (selection.kind) {
    case GpuSelection::Kind::all:
      return true;
    case GpuSelection::Kind::none:
      return false;
    case GpuSelection::Kind::list:
      return std::binary_search(selection.indices.begin(), selection.indices.end(), index);
  }
  return false;
}

void TemperatureWindow::add(double celsius, double t_s,
                            std::optional<std::pair<double, double>> before) {
  if (readings == 0) std::tie(from_c, from_s) = before.value_or(std::pair(celsius, t_s));
  last_c = celsius;
  last_s = t_s;
  sum_c += celsius;
  ++readings;
}

void TemperatureWindow::fill(GpuActivity& a) const {
  if (readings == 0) return;
  a.temperature_c = sum_c / readings;
  if (last_s > from_s) a.temperature_rise_c_per_s = (last_c - from_c) / (last_s - from_s);
}

std::optional<EnergyReading> command_share(const ProcessWindow& w, const EnergyReading& machine,
                                           const ShareSplit& split,
                                           std::vector<std::string>* notes) {
  if (!w.command_seen) {
    if (notes != nullptr)
      notes->push_back(
          fmt::format("{}: no command share: {} never listed a process of the command among its "
                      "compute processes",
                      machine.domain, split.library));
    return std::nullopt;
  }
  EnergyReading s = machine;
  s.scope = EnergyScope::command;
  if (!w.other_seen) {
    s.method += "+share:sole-process";
    if (notes != nullptr)
      notes->push_back(fmt::format(
          "{} (command share, +share:sole-process): the command's processes were the only "
          "compute processes {} listed on it, so its whole energy is the command's",
          machine.domain, split.library));
    return s;
  }
  double total = w.command_use + w.other_use;
  if (!(total > 0)) {
    if (notes != nullptr)
      notes->push_back(
          fmt::format("{}: no command share: other processes computed on it too and {}",
                      machine.domain, split.no_samples));
    return std::nullopt;
  }
  double fraction = w.command_use / total;
  s.method += "+share:" + split.method;
  s.joules = machine.joules * fraction;
  s.average_watts = machine.average_watts * fraction;
  s.uncertainty = machine.uncertainty + split.uncertainty;
  if (notes != nullptr)
    notes->push_back(fmt::format(
        "{} (command share, +share:{}): other processes computed on it too; split by {}; ±{:.0f}% "
        "more for idle and memory power split the same way",
        machine.domain, split.method, split.describe(w.use_samples, fraction * 100),
        split.uncertainty * 100));
  return s;
}

ProcessWindow process_window(const GpuProcesses& p, const CommandProcesses& is_command) {
  ProcessWindow w;
  for (unsigned pid : p.pids) (is_command(pid) ? w.command_seen : w.other_seen) = true;
  double command_use = 0, other_use = 0;
  for (const auto& [pid, use] : p.use) {
    bool mine = is_command(pid);
    (mine ? w.command_seen : w.other_seen) = true;
    (mine ? command_use : other_use) += use;
  }
  if (w.command_seen && w.other_seen) {
    w.command_use = command_use;
    w.other_use = other_use;
    w.use_samples = p.use_samples;
  }
  return w;
}

CommandProcesses descendants_of(const SysRoot& root, pid_t ancestor) {
  auto known = std::make_shared<std::map<unsigned, bool>>();
  return [root, ancestor, known](unsigned pid) {
    if (auto it = known->find(pid); it != known->end()) return it->second;
    bool mine = false;
    pid_t p = pid_t(pid);
    for (int depth = 0; depth < 64 && p > 1; ++depth) {
      if (p == ancestor) {
        mine = true;
        break;
      }
      auto parent = parent_of(root, p);
      if (!parent) break;
      p = *parent;
    }
    (*known)[pid] = mine;
    return mine;
  };
}

void check_gpu_selection(const GpuSelection& selection,
                         const std::vector<std::pair<std::string, const GpuChoice*>>& libraries) {
  if (selection.kind != GpuSelection::Kind::list) return;
  unsigned total = 0;
  bool counted = false;
  std::string seen;
  for (const auto& [name, choice] : libraries) {
    if (choice->counted) {
      counted = true;
      if (!seen.empty()) seen += " and ";
      seen += choice->seen == 0
                  ? name + " sees no GPU"
                  : fmt::format("{} sees GPUs {}-{}", name, total, total + choice->seen - 1);
    }
    total += choice->seen;
  }
  if (!counted) return;
  for (unsigned i : selection.indices)
    if (i >= total)
      throw std::invalid_argument(fmt::format("--gpus: GPU {} asked for, but {}", i, seen));
}

GpuSources open_gpu_sources(const GpuSelection& selection) {
  GpuSources out;
  if (selection.kind == GpuSelection::Kind::none) {
    out.reason_if_none = "GPUs not measured (--gpus none)";
    return out;
  }
  GpuChoice nvml = open_nvml_gpus(selection, 0);
  GpuChoice amd = open_amdsmi_gpus(selection, nvml.seen);
  check_gpu_selection(selection, {{"NVML", &nvml}, {"AMD SMI", &amd}});

  std::vector<std::unique_ptr<GpuSource>> parts;
  std::vector<std::string> found_reasons, all_reasons;
  using Named = std::pair<const char*, GpuChoice*>;
  for (auto [name, choice] : {Named{"nvml", &nvml}, Named{"amdsmi", &amd}}) {
    GpuLibraryOutcome o{name, choice->library_found, choice->source != nullptr,
                        choice->reason_if_none, choice->notes};
    out.library_found |= o.library_found;
    out.notes.insert(out.notes.end(), choice->notes.begin(), choice->notes.end());
    if (choice->source) {
      parts.push_back(std::move(choice->source));
    } else {
      all_reasons.push_back(choice->reason_if_none);
      if (choice->library_found) found_reasons.push_back(choice->reason_if_none);
    }
    out.libraries.push_back(std::move(o));
  }
  const auto& reasons = out.library_found ? found_reasons : all_reasons;
  if (parts.empty()) {
    for (const auto& r : reasons)
      out.reason_if_none += (out.reason_if_none.empty() ? "" : "; ") + r;
    return out;
  }
  // A library that was found but reads no GPU while another does.
  out.notes.insert(out.notes.end(), found_reasons.begin(), found_reasons.end());
  if (parts.size() == 1)
    out.source = std::move(parts.front());
  else
    out.source = std::make_unique<CombinedGpuSource>(std::move(parts));
  return out;
}

GpuLibrary load_gpu_library(const char* env_var, const std::vector<const char*>& defaults,
                            const std::vector<const char*>& devices) {
  GpuLibrary lib;
  auto open = [&](const char* name) {
    lib.name = name;
    lib.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    return lib.handle != nullptr;
  };
  if (const char* path = std::getenv(env_var); path != nullptr && *path != '\0') {
    if (!open(path)) {
      const char* e = dlerror();
      lib.problem = e != nullptr ? e : lib.name + ": cannot load";
    }
    return lib;
  }
  bool device = std::any_of(devices.begin(), devices.end(),
                            [](const char* d) { return access(d, F_OK) == 0; });
  if (!device) {
    lib.name = defaults.front();
    lib.problem =
        fmt::format("{} exists, so {} was not loaded",
                    devices.size() == 1 ? fmt::format("no {}", devices.front())
                                        : fmt::format("none of {}", fmt::join(devices, ", ")),
                    lib.name);
    return lib;
  }
  for (const char* candidate : defaults)
    if (open(candidate)) return lib;
  lib.name = defaults.front();
  lib.problem = defaults.size() == 1 ? fmt::format("{}: cannot load", lib.name)
                                     : fmt::format("{}: cannot load ({} tried, and ${} is unset)",
                                                   lib.name, fmt::join(defaults, ", "), env_var);
  if (defaults.size() == 1)
    if (const char* e = dlerror()) lib.problem = e;
  return lib;
}

void* gpu_symbol(void* handle, const char* symbol, std::vector<std::string>* missing) {
  void* fn = dlsym(handle, symbol);
  if (fn == nullptr && missing != nullptr) missing->push_back(symbol);
  return fn;
}

}  // namespace pmc
