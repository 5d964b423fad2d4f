#include "engine/session/machine.h"

#include "events/text/text.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

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

}  // namespace pmc
