#include "events/names/tracepoints.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace pmc {
namespace {

namespace fs = std::filesystem;

bool is_glob_char(char c) {
  return c == '*' || c == '?' || c == '[' || c == ']';
}

bool has_glob(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_glob_char);
}

// The folder's subfolders, sorted; empty when it cannot be listed (`err` then holds errno).
std::vector<std::string> subfolders(const fs::path& dir, int& err) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    err = errno;
    return names;
  }
  err = 0;
  while (dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    bool folder = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st {};
      folder = ::stat((dir / name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (folder) names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string root_only(const fs::path& mount, const fs::path& unreadable) {
  return unreadable.string() +
         " is readable by root only (tracefs and debugfs are mounted mode 0700): run as root, or "
         "let other users read the tracepoint ids: sudo mount -o remount,mode=755 " +
         mount.string() +
         " (counting a tracepoint also needs kernel.perf_event_paranoid <= 1 or CAP_PERFMON)";
}

bool matches(std::string_view pattern, const std::string& name) {
  return ::fnmatch(std::string(pattern).c_str(), name.c_str(), 0) == 0;
}

}  // namespace

bool looks_like_tracepoint(std::string_view name) {
  size_t colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == name.size() ||
      name.find(':', colon + 1) != std::string_view::npos)
    return false;
  std::string_view subsystem = name.substr(0, colon);
  std::string_view event = name.substr(colon + 1);
  auto lower_part = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           is_glob_char(c);
  };
  auto event_part = [&](char c) { return lower_part(c) || (c >= 'A' && c <= 'Z'); };
  return std::all_of(subsystem.begin(), subsystem.end(), lower_part) &&
         std::all_of(event.begin(), event.end(), event_part) &&
         // A native name is upper case after the colon too ("inst_retired:ANY_P" is libpfm4's).
         !(std::any_of(event.begin(), event.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) &&
           std::none_of(event.begin(), event.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
}

TracefsEvents locate_tracefs_events(const SysRoot& root) {
  TracefsEvents found;
  std::string denied;
  const fs::path mounts[] = {root.sys_path("kernel/tracing"),
                             root.sys_path("kernel/debug/tracing")};
  for (const fs::path& mount : mounts) {
    fs::path events = mount / "events";
    struct stat st {};
    if (::stat(events.c_str(), &st) != 0) {
      // A 0700 mount point (tracefs's default mode, or debugfs's) refuses even the stat.
      if (errno == EACCES && denied.empty()) denied = root_only(mount, mount);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) continue;
    int err = 0;
    subfolders(events, err);
    if (err == EACCES) {
      if (denied.empty()) denied = root_only(mount, events);
      continue;
    }
    if (err != 0) continue;
    found.events = events;
    return found;
  }
  found.problem = !denied.empty()
                      ? denied
                      : "tracefs is not mounted (neither " + (mounts[0] / "events").string() +
                            " nor " + (mounts[1] / "events").string() +
                            " exists); as root: mount -t tracefs nodev " + mounts[0].string();
  return found;
}

TracepointLookup find_tracepoints(const SysRoot& root, std::string_view name) {
  TracepointLookup lookup;
  size_t colon = name.find(':');
  std::string_view subsystem = name.substr(0, colon);
  std::string_view event = name.substr(colon + 1);
  TracefsEvents tracefs = locate_tracefs_events(root);
  if (tracefs.events.empty()) {
    lookup.problem = tracefs.problem;
    return lookup;
  }
  int err = 0;
  for (const std::string& sub : subfolders(tracefs.events, err)) {
    if (!matches(subsystem, sub)) continue;
    lookup.subsystem_found = true;
    int sub_err = 0;
    for (const std::string& ev : subfolders(tracefs.events / sub, sub_err)) {
      std::string full = sub + ":" + ev;
      if (!matches(event, ev)) {
        if (!has_glob(name)) lookup.close.push_back(full);
        continue;
      }
      auto text = read_text(tracefs.events / sub / ev / "id");
      uint64_t id = 0;
      if (!text) continue;  // a subsystem's own files, or an event without an id
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
      if (ec != std::errc() || end != text->data() + text->size()) continue;
      lookup.matches.push_back(Tracepoint{full, id});
    }
    if (sub_err == EACCES && lookup.problem.empty())
      lookup.problem = root_only(tracefs.events.parent_path(), tracefs.events / sub);
  }
  if (!lookup.matches.empty()) {
    lookup.problem.clear();
    lookup.close.clear();
  } else if (lookup.problem.empty()) {
    lookup.problem =
        (lookup.subsystem_found ? "no tracepoint matches '" + std::string(name)
                                : "no tracepoint subsystem matches '" + std::string(subsystem)) +
        "' in " + tracefs.events.string();
  }
  return lookup;
}

std::vector<Tracepoint> all_tracepoints(const SysRoot& root) {
  TracefsEvents tracefs = locate_tracefs_events(root);
  if (tracefs.events.empty()) return {};
  return find_tracepoints(root, "*:*").matches;
}

}  // namespace pmc
