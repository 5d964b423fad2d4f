#include "engine/session/machine.h"

#include "events/text/text.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>

#include "engine/counting/perf_event.h"
#include "events/metrics/metric_literals.h"
#include "events/names/sysfs_pmu.h"

namespace pmc {
namespace {

int parse_int(std::string_view s) {
  std::string str(s);
  char* end = nullptr;
  long v = std::strtol(str.c_str(), &end, 0);  // base 0: Arm's "0x41" and x86's decimal
  return end == str.c_str() ? -1 : int(v);
}

}  // namespace

void parse_cpuinfo(std::string_view text, MachineInfo& info) {
  int processors = 0;
  bool first_block = true;
  std::string_view power_cpu;  // POWER's "cpu : POWER9, altivec supported"
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      if (trim(line).empty() && processors > 0) first_block = false;
      continue;
    }
    auto key = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (key == "processor") ++processors;
    if (!first_block) continue;
    if (key == "vendor_id")
      info.vendor = value;
    else if (key == "cpu family")
      info.family = parse_int(value);
    else if (key == "model")
      info.model = parse_int(value);
    else if (key == "model name")
      info.cpu_model = value;
    else if (key == "cpu")
      power_cpu = value;
    else if (key == "stepping")
      info.stepping = parse_int(value);
    else if (key == "CPU implementer") {
      info.vendor = "ARM";
      info.family = parse_int(value);  // implementer code, e.g. 0x41 = Arm Ltd
    } else if (key == "CPU part") {
      info.model = parse_int(value);  // part number, e.g. 0xd0c = Neoverse N1
    }
  }
  if (processors > 0) info.logical_cpus = processors;
  // POWER has no "model name" (arch/powerpc/kernel/setup-common.c show_cpuinfo); its "cpu" line
  // names the processor, and is what lscpu shows as the model name there.
  if (info.cpu_model.empty()) info.cpu_model = power_cpu;
}

MachineInfo read_machine_info(const SysRoot& root) {
  MachineInfo info;
  if (auto cpuinfo = read_text(root.proc_path("cpuinfo"))) parse_cpuinfo(*cpuinfo, info);
  if (info.cpu_model.empty() && info.vendor == "ARM") info.cpu_model = "Arm";
  auto cpus = online_cpus(root);
  if (!cpus.empty()) info.logical_cpus = int(cpus.size());
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(root.sys_path("bus/event_source/devices"), ec))
    info.pmus.push_back(e.path().filename().string());
  std::sort(info.pmus.begin(), info.pmus.end());
  utsname u{};
  if (uname(&u) == 0) {
    info.kernel_release = u.release;
    info.hostname = u.nodename;
  }
  return info;
}

std::optional<double> model_name_tsc_hz(std::string_view model_name) {
  auto at = model_name.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string rest(trim(model_name.substr(at + 1)));
  char* end = nullptr;
  double value = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str() || value <= 0) return std::nullopt;
  std::string_view unit = trim(std::string_view(end));
  if (unit == "GHz") return value * 1e9;
  if (unit == "MHz") return value * 1e6;
  return std::nullopt;
}

namespace {

std::optional<double> read_number(const std::filesystem::path& path) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);  // strtod reads caps/slots' 0x too
  if (end == text->c_str()) return std::nullopt;
  return value;
}

// The topology ids of the CPUs 0 … n - 1 that have them.
struct Topology {
  std::set<std::string> packages;
  std::set<std::pair<std::string, std::string>> dies;
  std::set<std::tuple<std::string, std::string, std::string>> cores;
  bool shared_core = false;  // a thread_siblings_list with two CPUs or more
};

Topology read_topology(const SysRoot& root, int cpus) {
  Topology t;
  for (int cpu = 0; cpu < cpus; ++cpu) {
    auto dir = "devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    auto package = read_text(root.sys_path(dir + "physical_package_id"));
    if (!package) continue;
    std::string die = read_text(root.sys_path(dir + "die_id")).value_or("0");
    t.packages.insert(*package);
    t.dies.insert({*package, die});
    if (auto core = read_text(root.sys_path(dir + "core_id")))
      t.cores.insert({*package, die, *core});
    if (auto siblings = read_text(root.sys_path(dir + "thread_siblings_list")))
      if (auto list = parse_cpu_list(*siblings); list && list->size() > 1) t.shared_core = true;
  }
  return t;
}

// perf's cpu_topology__core_wide: every thread sibling of the listed CPUs is listed.
bool list_is_core_wide(const SysRoot& root, const std::vector<int>& cpus) {
  for (int cpu : cpus) {
    auto siblings = read_text(root.sys_path("devices/system/cpu/cpu" + std::to_string(cpu) +
                                            "/topology/thread_siblings_list"));
    if (!siblings) return false;
    auto list = parse_cpu_list(*siblings);
    if (!list) return false;
    for (int sibling : *list)
      if (std::find(cpus.begin(), cpus.end(), sibling) == cpus.end()) return false;
  }
  return true;
}

}  // namespace

RuntimeParamCounts machine_runtime_params(const SysRoot& root) {
  RuntimeParamCounts counts;
  auto count_in = [&](const char* file, int& out) {
    auto path = root.sys_path(std::string("devices/hv_24x7/interface/") + file);
    auto n = read_number(path);
    if (!n || !(*n >= 1 && *n <= kMaxRuntimeParam) || *n != std::floor(*n)) return;
    out = int(*n);
    counts.source += (counts.source.empty() ? "" : ", ") + path.string();
  };
  count_in("sockets", counts.per_chip);
  count_in("coresperchip", counts.per_core);
  return counts;
}

Literals machine_literals(const MachineInfo& machine, const SysRoot& root, bool system_wide,
                          std::string_view cpu_list) {
  Literals literals;
  // perf's #num_cpus is cpu__max_present_cpu() (util/cpumap.c set_max_cpu_num): the highest
  // CPU number in devices/system/cpu/present plus one, which counts offline CPUs too.
  std::optional<std::vector<int>> present;
  if (auto text = read_text(root.sys_path("devices/system/cpu/present")))
    present = parse_cpu_list(*text);
  if (present && !present->empty())
    literals.set("num_cpus", double(*std::max_element(present->begin(), present->end()) + 1));
  else if (machine.logical_cpus > 0)
    literals.set("num_cpus", machine.logical_cpus);
  if (auto online = read_text(root.sys_path("devices/system/cpu/online"))) {
    if (auto list = parse_cpu_list(*online)) literals.set("num_cpus_online", double(list->size()));
  } else if (machine.logical_cpus > 0) {
    literals.set("num_cpus_online", machine.logical_cpus);
  }
  Topology topology = read_topology(root, std::max(machine.logical_cpus, 1));
  std::optional<bool> smt_on;
  if (auto smt = read_text(root.sys_path("devices/system/cpu/smt/active")))
    smt_on = *smt == "1";
  else if (topology.shared_core)
    smt_on = true;
  if (smt_on) literals.set("smt_on", *smt_on ? 1 : 0);
  if (!topology.packages.empty()) {
    literals.set("num_packages", double(topology.packages.size()));
    literals.set("num_dies", double(topology.dies.size()));
  }
  if (!topology.cores.empty()) literals.set("num_cores", double(topology.cores.size()));
  bool core_wide = false;
  if (system_wide) {
    auto cpus = parse_cpu_list(cpu_list);
    core_wide =
        !smt_on.value_or(true) || cpu_list.empty() || (cpus && list_is_core_wide(root, *cpus));
  }
  literals.set("core_wide", core_wide ? 1 : 0);
  // Arm's top-down width: caps/slots of the core PMU (sysfs, Armv8.4 PMUs).
  for (const auto& pmu : machine.pmus) {
    auto slots = read_number(root.sys_path("bus/event_source/devices/" + pmu + "/caps/slots"));
    if (slots && *slots > 0) {
      literals.set("slots", *slots);
      break;
    }
  }
  if (machine.vendor == "GenuineIntel" || machine.vendor == "AuthenticAMD")
    if (auto tsc = model_name_tsc_hz(machine.cpu_model)) literals.set("system_tsc_freq", *tsc);
  std::error_code ec;
  literals.set("has_pmem",
               std::filesystem::exists(root.sys_path("firmware/acpi/tables/NFIT"), ec) ? 1 : 0);
  return literals;
}

CounterModel machine_counter_model(const MachineInfo& machine, const SysRoot& root) {
  bool smt_on = read_text(root.sys_path("devices/system/cpu/smt/active")).value_or("1") == "1";
  // The NMI watchdog (on by default on most distributions) holds one counter pinned, on x86 a
  // general-purpose one when its cycles cannot use the fixed counter (AMD): counter_model()
  // takes it away from the groups so that a planned group does fit.
  bool nmi_watchdog = read_text(root.proc_path("sys/kernel/nmi_watchdog")).value_or("0") == "1";
  CounterModel model =
      counter_model(machine.vendor, machine.family, machine.model, smt_on, false, nmi_watchdog);
  if (std::find(machine.pmus.begin(), machine.pmus.end(), "cpu_atom") != machine.pmus.end()) {
    CounterModel atom =
        counter_model(machine.vendor, machine.family, machine.model, smt_on, true, nmi_watchdog);
    model.atom = CounterModel::Atom{atom.general, atom.fixed_cycles};
  }
  return model;
}

}  // namespace pmc
