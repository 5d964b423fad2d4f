#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace pmc::test {

std::vector<std::string> child_command(const std::string& spec) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return {"/usr/bin/env", "PMC_TEST_CHILD=" + spec, self};
}

namespace {

std::map<std::string, ChildBody>& child_bodies() {
  static std::map<std::string, ChildBody> bodies;
  return bodies;
}

}  // namespace

bool register_child_body(const std::string& name, ChildBody body) {
  return child_bodies().emplace(name, body).second;
}

std::string run_child_body(const std::string& name, const std::string& input,
                           const std::vector<std::string>& env) {
  REQUIRE_MESSAGE(child_bodies().count(name) == 1, "no child body registered as " << name);
  std::vector<std::string> all = env;
  all.push_back("PMC_TEST_CHILD_INPUT=" + input);
  ProcessResult r = run_process(child_command("body:" + name), all);
  INFO("child body " << name << " stderr: " << r.err);
  CHECK(r.exit_code == 0);
  return r.out;
}

int child_body_main(const std::string& name) {
  auto found = child_bodies().find(name);
  if (found == child_bodies().end()) {
    std::fprintf(stderr, "no child body registered as %s\n", name.c_str());
    return 97;
  }
  const char* input = std::getenv("PMC_TEST_CHILD_INPUT");
  std::string out;
  try {
    out = found->second(input != nullptr ? input : "");
  } catch (const std::exception& e) {
    out = std::string("exception: ") + e.what();
  }
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0
             ? 0
             : 96;
}

std::vector<std::string> pmcmodel(std::vector<std::string> args) {
  args.insert(args.begin(), PMC_BINARY);
  return args;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          double send_sigint_after_s) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(125);
  }
  close(out[1]);
  close(err[1]);
  ProcessResult r;
  auto start = std::chrono::steady_clock::now();
  bool sent = false;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int timeout = 50;
    poll(fds, 2, timeout);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, size_t(n));
      }
    }
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!sent && send_sigint_after_s >= 0 && elapsed >= send_sigint_after_s) {
      kill(pid, SIGINT);
      sent = true;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return r;
}

double machine_steal_s() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu")
    return 0;
  return double(steal) / double(sysconf(_SC_CLK_TCK));
}

double process_cpu_s(pid_t pid) {
  std::error_code ec;
  double total = 0;
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "schedstat");
    unsigned long long ns = 0;
    if (in >> ns) total += double(ns) * 1e-9;
  }
  return total;
}

std::vector<std::string> as_nobody() {
  std::string id = std::to_string(kNobody);
  return {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"};
}

bool others_can_reach(const std::filesystem::path& path, std::string* why) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) {
    if (why != nullptr) *why = path.string() + ": " + ec.message();
    return false;
  }
  fs::path folder = fs::is_directory(absolute, ec) ? absolute : absolute.parent_path();
  for (fs::path p = folder;; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & S_IXOTH) == 0) {
      if (why != nullptr) *why = p.string() + " does not let other users through (mode o-x)";
      return false;
    }
    if (p == p.root_path()) return true;
  }
}

std::filesystem::path make_temp_dir(const std::string& name) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("pmc-" + name + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  return pattern;
}

ReachableDir::ReachableDir(const std::string& name, bool writable) {
  namespace fs = std::filesystem;
  std::vector<fs::path> bases;
  std::error_code ec;
  if (fs::path tmp = fs::temp_directory_path(ec); !ec) bases.push_back(tmp);
  bases.insert(bases.end(), {"/tmp", "/var/tmp"});
  for (const auto& base : bases) {
    std::string reason;
    if (!others_can_reach(base, &reason)) {
      why += (why.empty() ? "" : "; ") + reason;
      continue;
    }
    std::string pattern = (base / ("pmc-" + name + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      why += (why.empty() ? "" : "; ") + base.string() + ": " + std::strerror(errno);
      continue;
    }
    path = pattern;
    ::chmod(path.c_str(), writable ? 0777 : 0755);
    why.clear();
    return;
  }
  why = "no folder another user can reach: " + why;
}

ReachableDir::~ReachableDir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

InstalledCopy install_copy(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::path bin = dir / "bin";
  fs::path share = dir / "share" / "pmcmodel";
  fs::create_directories(bin);
  fs::create_directories(share);
  fs::copy_file(PMC_BINARY, bin / "pmcmodel");
  fs::path data = fs::path(PMC_TEST_DATA).parent_path().parent_path() / "data";
  fs::copy(data, share, fs::copy_options::recursive);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    bool folder = entry.is_directory();
    fs::permissions(entry.path(), folder ? fs::perms(0755) : fs::perms(0644));
  }
  fs::permissions(bin / "pmcmodel", fs::perms(0755));
  return {(bin / "pmcmodel").string(), "PMCMODEL_DATA_DIR=" + share.string()};
}

std::string nobody_cannot_use(const std::vector<std::string>& paths) {
  if (::access("/usr/bin/setpriv", X_OK) != 0) return "/usr/bin/setpriv is missing";
  for (size_t i = 0; i < paths.size(); ++i) {
    auto argv = as_nobody();
    argv.insert(argv.end(), {"/usr/bin/test", i == 0 ? "-x" : "-r", paths[i]});
    auto r = run_process(argv);
    if (r.exit_code != 0)
      return "user " + std::to_string(kNobody) + " cannot " + (i == 0 ? "run " : "read ") +
             paths[i] + (r.err.empty() ? "" : " (" + r.err.substr(0, r.err.find('\n')) + ")");
  }
  return "";
}

std::string tracefs_unavailable() {
  for (const char* events : {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"})
    if (::access(events, R_OK | X_OK) == 0) return "";
  if (::geteuid() != 0)
    return "tracefs is not mounted or not readable by this user, and only root may mount it";
  if (::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
    return std::string("mount -t tracefs nodev /sys/kernel/tracing: ") + std::strerror(errno);
  return ::access("/sys/kernel/tracing/events", R_OK | X_OK) == 0
             ? ""
             : "tracefs mounted, but /sys/kernel/tracing/events is missing";
}

}  // namespace pmc::test
