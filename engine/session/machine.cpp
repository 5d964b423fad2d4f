#include "engine/session/machine.h"

#include "events/text/text.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "engine/counting/perf_event.h"

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

Literals machine_literals(const MachineInfo& machine, const SysRoot& root) {
  Literals literals;
  if (machine.logical_cpus > 0) literals.set("num_cpus", machine.logical_cpus);
  if (auto smt = read_text(root.sys_path("devices/system/cpu/smt/active")))
    literals.set("smt_on", *smt == "1" ? 1 : 0);
  std::set<std::string> packages;
  for (int cpu = 0; cpu < std::max(machine.logical_cpus, 1); ++cpu) {
    auto id = read_text(root.sys_path("devices/system/cpu/cpu" + std::to_string(cpu) +
                                      "/topology/physical_package_id"));
    if (id) packages.insert(*id);
  }
  if (!packages.empty()) literals.set("num_packages", double(packages.size()));
  // Arm's top-down width: caps/slots of the core PMU (sysfs, Armv8.4 PMUs).
  for (const auto& pmu : machine.pmus) {
    auto slots = read_text(root.sys_path("bus/event_source/devices/" + pmu + "/caps/slots"));
    if (!slots) continue;
    char* end = nullptr;
    double value = std::strtod(slots->c_str(), &end);
    if (end != slots->c_str() && value > 0) {
      literals.set("slots", value);
      break;
    }
  }
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
