// `pmcmodel serve` as a process: scraped over HTTP (a raw socket client here, and a real Prometheus
// from Debian's `prometheus` package), over fixture powercap, cgroup and /proc/stat trees that the
// test moves while it runs and GPUs from tests/engine/fake_nvml.c (a libnvidia-ml replaying a real
// H200 trace); promtool checks a scrape; SIGTERM stops it with status 0.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

using namespace pmc::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TempTree {
  fs::path path;
  explicit TempTree(const std::string& name)
      : path(fs::temp_directory_path() /
             ("pmc-serve-cli-" + std::to_string(getpid()) + "-" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// In place, same length: pmcmodel keeps energy_uj open and preads it, as it does the kernel's.
void overwrite(const fs::path& p, const std::string& text) {
  int fd = ::open(p.c_str(), O_WRONLY);
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::pwrite(fd, text.data(), text.size(), 0);
  ::close(fd);
}

std::string uj(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llu\n", static_cast<unsigned long long>(v));
  return buf;
}

fs::path powercap_zone(const fs::path& sys, uint64_t start_uj, uint64_t range_uj) {
  auto zone = sys / "class/powercap/intel-rapl:0";
  write_file(zone / "name", "package-0\n");
  write_file(zone / "max_energy_range_uj", std::to_string(range_uj) + "\n");
  write_file(zone / "energy_uj", uj(start_uj));
  write_file(sys / "class/powercap/intel-rapl/enabled", "1\n");
  return zone;
}

bool on_path(const std::string& name) {
  return run_process({"/bin/sh", "-c", "command -v " + name}).exit_code == 0;
}

// A child process with stderr to a file, killed (if still running) when this goes away.
struct Child {
  pid_t pid = -1;
  fs::path err_path;
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env, fs::path err)
      : err_path(std::move(err)) {
    pid = fork();
    if (pid == 0) {
      int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(125);
    }
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string err() const { return read_file(err_path.string()); }
  // The exit status after SIGTERM, or nullopt when it did not exit within `limit`.
  std::optional<int> terminate(std::chrono::milliseconds limit) {
    kill(pid, SIGTERM);
    return wait(limit);
  }
  // The exit status once it exits by itself, or nullopt when it is still running after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }
};

// The port pmcmodel serve says it listens on ("listening on 127.0.0.1:PORT"), within 10 s.
int wait_for_port(const Child& c) {
  for (int i = 0; i < 1000; ++i) {
    std::string err = c.err();
    auto at = err.find("listening on 127.0.0.1:");
    if (at != std::string::npos) return std::atoi(err.c_str() + at + 23);
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
};

// An HTTP/1.0 request on the loopback (no chunked replies, the connection closes at the end).
HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& accept = "") {
  HttpReply r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  if (!accept.empty()) req += "Accept: " + accept + "\r\n";
  req += "\r\n";
  [[maybe_unused]] auto n = ::write(fd, req.data(), req.size());
  std::string all;
  char buf[65536];
  ssize_t got;
  while ((got = ::read(fd, buf, sizeof buf)) > 0) all.append(buf, size_t(got));
  ::close(fd);
  auto split = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.", 0) != 0 || split == std::string::npos) return r;
  r.status = std::atoi(all.c_str() + 9);
  r.headers = all.substr(0, split);
  r.body = all.substr(split + 4);
  return r;
}

HttpReply http_get(int port, const std::string& target, const std::string& accept = "") {
  return http_request(port, "GET", target, accept);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The value of the sample line that starts with `series` (name and labels, exactly), or NaN.
double sample_value(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::strtod(body.c_str() + at + series.size() + 2, nullptr);
}

// /metrics scraped every 50 ms until `done(body)` or 20 s have passed; the last body. A test
// waits for what serve's sampler must have seen instead of sleeping a fixed time, which a busy
// machine can outrun.
template <class Done>
std::string scrape_until(int port, Done&& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    std::string body = http_get(port, "/metrics").body;
    if (done(body) || std::chrono::steady_clock::now() > deadline) return body;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The energy counter (mJ) of the trace's row in force at trace time t (the last row at or before
// it), as the fake NVML answers.
double trace_energy_mj(double t) {
  std::ifstream in(std::string(PMC_SOURCE_DIR) + "/tests/data/gpu/h200-trace1-samples.csv");
  std::string line;
  std::getline(in, line);
  double energy = std::nan("");
  while (std::getline(in, line)) {
    double row_t = 0, power = 0, mj = 0;
    if (std::sscanf(line.c_str(), "%lf,%lf,%lf", &row_t, &power, &mj) != 3) continue;
    if (row_t > t && !std::isnan(energy)) break;
    energy = mj;
  }
  return energy;
}

double now_unix_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const std::string kPackage =
    "pmcmodel_energy_joules_total{domain=\"package-0\",method=\"measured:powercap\"}";

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("serve without its HTTP module: one line naming each place tried, status 1") {
    TempTree t("nomodule");
    auto sys = t.path / "sys";
    powercap_zone(sys, 0, 262143328850);
    std::string missing = (t.path / "gone" / "pmcmodel-http.so").string();
    auto r =
        run_process(pmcmodel({"serve", "--listen", "127.0.0.1:0"}),
                    {"PMCMODEL_SYSFS_ROOT=" + sys.string(), "PMCMODEL_HTTP_MODULE=" + missing});
    CHECK(r.exit_code == 1);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find("pmcmodel-http.so") != std::string::npos);
    CHECK(r.err.find(missing + " (absent)") != std::string::npos);
    // A file that is not the module (here a text file) is named with the loader's reason.
    write_file(t.path / "not-a-module.so", "text\n");
    auto bad = run_process(pmcmodel({"serve", "--listen", "127.0.0.1:0"}),
                           {"PMCMODEL_SYSFS_ROOT=" + sys.string(),
                            "PMCMODEL_HTTP_MODULE=" + (t.path / "not-a-module.so").string()});
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("not-a-module.so (") != std::string::npos);
  }

  TEST_CASE("only serve loads the HTTP library and its TLS and compression libraries") {
    // Debian's cpp-httplib needs libssl, libcrypto, zlib and brotli: linked into pmcmodel they
    // cost every command their loading (docs/PERFORMANCE.md, start-up). ldd lists what the
    // executable itself needs.
    auto r = run_process({"/usr/bin/ldd", PMC_BINARY});
    REQUIRE(r.exit_code == 0);
    for (const char* lib : {"libcpp-httplib", "libssl", "libcrypto", "libbrotli"})
      CHECK_MESSAGE(r.out.find(lib) == std::string::npos, lib);
  }

  TEST_CASE(
      "serve: exact energy across a wrap between scrapes, promtool-clean, OpenMetrics on "
      "request, cgroups followed as they come and go, SIGTERM exits 0") {
    TempTree t("exact");
    auto sys = t.path / "sys";
    // The fixture of the measure wrap test: 262143000000 µJ, wrapping at 262143328850.
    auto zone = powercap_zone(sys, 262143000000, 262143328850);
    auto cg = sys / "fs/cgroup";
    write_file(cg / "cgroup.controllers", "cpu\n");
    // The fake GPU held at trace time 10.4 s (row t=10.3942: 99% busy, SM at 1455 MHz).
    write_file(t.path / "clock", "10.4\n");
    Child serve(pmcmodel({"serve", "--listen", "127.0.0.1:0", "--interval", "0.1", "--cgroups",
                          "system.slice/*.service"}),
                {"PMCMODEL_SYSFS_ROOT=" + sys.string(),
                 std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML,
                 "PMC_FAKE_NVML_CLOCK=" + (t.path / "clock").string()},
                t.path / "err.txt");
    int port = wait_for_port(serve);
    INFO(serve.err());
    REQUIRE(port > 0);

    auto first = http_get(port, "/metrics");
    REQUIRE(first.status == 200);
    CHECK(first.headers.find("text/plain; version=0.0.4") != std::string::npos);
    CHECK(sample_value(first.body, kPackage) == 0);
    // +300000 µJ, then past the range: +28850 to it and +671150 after it; 1 J in all.
    // Each value is held until a scrape shows serve's sampler has read it (0.3 J, then 1 J).
    overwrite(zone / "energy_uj", uj(262143300000));
    auto before_wrap = scrape_until(
        port, [&](const std::string& body) { return sample_value(body, kPackage) > 0; });
    CHECK(sample_value(before_wrap, kPackage) == doctest::Approx(0.3).epsilon(1e-9));
    overwrite(zone / "energy_uj", uj(671150));
    auto second = scrape_until(
        port, [&](const std::string& body) { return sample_value(body, kPackage) > 0.3 + 1e-9; });
    CHECK(sample_value(second, kPackage) == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(sample_value(second, "pmcmodel_source_up{source=\"powercap\"}") == 1);
    CHECK(second.find("pmcmodel_build_info{version=\"") != std::string::npos);
    CHECK(sample_value(second, "pmcmodel_source_up{source=\"nvml\"}") == 1);
    CHECK(sample_value(second,
                       "pmcmodel_energy_joules_total{domain=\"gpu0\",method=\"measured:nvml\"}") ==
          0);
    CHECK(sample_value(second, "pmcmodel_gpu_utilization_ratio{gpu=\"0\"}") ==
          doctest::Approx(0.99));
    CHECK(sample_value(second, "pmcmodel_gpu_sm_clock_hertz{gpu=\"0\"}") == 1455e6);

    if (on_path("promtool")) {
      write_file(t.path / "scrape.txt", second);
      auto lint = run_process(
          {"/bin/sh", "-c", "promtool check metrics < '" + (t.path / "scrape.txt").string() + "'"});
      INFO(lint.out, lint.err);
      CHECK(lint.exit_code == 0);
      CHECK(lint.out + lint.err == "");
    } else {
      MESSAGE("promtool not installed (Debian package prometheus): the lint was not run");
    }

    auto om = http_get(port, "/metrics", "application/openmetrics-text;version=1.0.0");
    CHECK(om.headers.find("application/openmetrics-text; version=1.0.0") != std::string::npos);
    CHECK(om.body.find("# TYPE pmcmodel_energy_joules counter\n") != std::string::npos);
    CHECK(om.body.size() >= 6);
    CHECK(om.body.substr(om.body.size() - 6) == "# EOF\n");
    CHECK(http_get(port, "/healthz").body == "ok\n");
    CHECK(http_get(port, "/").status == 404);

    // A service appears, then goes.
    write_file(cg / "system.slice/a.service/cpu.stat", "usage_usec 2500000\n");
    const std::string a_service =
        "pmcmodel_cgroup_cpu_seconds_total{cgroup=\"/system.slice/a.service\"}";
    auto with = scrape_until(
        port, [&](const std::string& body) { return !std::isnan(sample_value(body, a_service)); });
    CHECK(sample_value(with, a_service) == 2.5);
    fs::remove_all(cg / "system.slice/a.service");
    auto without = scrape_until(
        port, [&](const std::string& body) { return body.find("a.service") == std::string::npos; });
    CHECK(without.find("a.service") == std::string::npos);

    auto start = std::chrono::steady_clock::now();
    auto status = serve.terminate(3000ms);
    REQUIRE(status);
    CHECK(*status == 0);
    CHECK(std::chrono::steady_clock::now() - start < 1500ms);
    CHECK(serve.err().find("SIGTERM: stopping") != std::string::npos);
  }

  TEST_CASE("serve: a real Prometheus scraping it measures the fed watts within 5%, across wraps") {
    if (!on_path("prometheus")) {
      MESSAGE(
          "prometheus not installed (Debian package prometheus; scripts/install-deps): skipped");
      return;
    }
    TempTree t("prometheus");
    auto sys = t.path / "sys";
    // 40 W into a counter that wraps at 50 J: a wrap every 1.25 s, each seen by the 0.1 s samples
    // and none by Prometheus's 1 s scrapes directly.
    constexpr double kWatts = 40;
    constexpr uint64_t kRange = 50000000;
    auto zone = powercap_zone(sys, 0, kRange);
    std::atomic<bool> feeding{true};
    std::thread feeder([&] {
      auto t0 = std::chrono::steady_clock::now();
      while (feeding) {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        overwrite(zone / "energy_uj", uj(uint64_t(s * kWatts * 1e6) % kRange));
        std::this_thread::sleep_for(10ms);
      }
    });
    struct Stop {
      std::atomic<bool>& flag;
      std::thread& thread;
      ~Stop() {
        flag = false;
        thread.join();
      }
    } stop_feeder{feeding, feeder};

    Child serve(
        pmcmodel({"serve", "--listen", "127.0.0.1:0", "--interval", "0.1", "--cgroups", "none"}),
        {"PMCMODEL_SYSFS_ROOT=" + sys.string()}, t.path / "serve-err.txt");
    int port = wait_for_port(serve);
    REQUIRE(port > 0);
    int prom_port = free_port();
    write_file(t.path / "prometheus.yml",
               "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
               "scrape_configs:\n  - job_name: pmcmodel\n    static_configs:\n"
               "      - targets: ['127.0.0.1:" +
                   std::to_string(port) + "']\n");
    Child prom({"prometheus", "--config.file=" + (t.path / "prometheus.yml").string(),
                "--storage.tsdb.path=" + (t.path / "tsdb").string(),
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
               {}, t.path / "prometheus-err.txt");
    bool ready = false;
    for (int i = 0; i < 300 && !ready; ++i) {
      ready = http_get(prom_port, "/-/ready").status == 200;
      if (!ready) std::this_thread::sleep_for(100ms);
    }
    INFO(prom.err());
    REQUIRE(ready);
    auto query = [&](const std::string& promql) {
      auto r = http_get(prom_port, "/api/v1/query?query=" + url_encode(promql));
      INFO(r.body);
      REQUIRE(r.status == 200);
      return nlohmann::json::parse(r.body);
    };
    // rate() extrapolates only where the series covers the window, so wait until Prometheus holds
    // 13 s of scrapes (at most 40 s), then take the rate over the last 10 s.
    auto deadline = std::chrono::steady_clock::now() + 40s;
    for (;;) {
      auto n = query("count_over_time(pmcmodel_energy_joules_total{domain=\"package-0\"}[13s])");
      if (n["data"]["result"].size() == 1 &&
          std::stod(n["data"]["result"][0]["value"][1].get<std::string>()) >= 13)
        break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(500ms);
    }
    auto up = query("up{job=\"pmcmodel\"}");
    REQUIRE(up["data"]["result"].size() == 1);
    CHECK(up["data"]["result"][0]["value"][1] == "1");
    auto rate = query("rate(pmcmodel_energy_joules_total{domain=\"package-0\"}[10s])");
    INFO(rate.dump());
    INFO(query("pmcmodel_energy_joules_total{domain=\"package-0\"}[10s]").dump());
    REQUIRE(rate["data"]["result"].size() == 1);
    double watts = std::stod(rate["data"]["result"][0]["value"][1].get<std::string>());
    CHECK(watts == doctest::Approx(kWatts).epsilon(0.05));
    auto status = serve.terminate(3000ms);
    REQUIRE(status);
    CHECK(*status == 0);
  }

  TEST_CASE("serve --model: a model's estimate from machine-wide counts, labelled model:FILE") {
    // A model fitted by hand-made rows: package_watts = 8 + 0.02 × task_clock_per_s (exact).
    // Counted machine-wide, task-clock advances 1000 ms per second on every online CPU, so the
    // estimate is 8 + 0.02 × 1000 × CPUs watts.
    TempTree t("model");
    write_file(t.path / "rows.csv",
               "task_clock_per_s,package_watts\n100,10\n200,12\n300,14\n400,16\n500,18\n"
               "600,20\n700,22\n800,24\n");
    auto model = (t.path / "m.json").string();
    auto fit = run_process(
        pmcmodel({"fit", "--data", (t.path / "rows.csv").string(), "--target", "package_watts",
                  "--features", "task_clock_per_s", "--folds", "2", "--out", model}));
    INFO(fit.err);
    REQUIRE(fit.exit_code == 0);
    Child serve(pmcmodel({"serve", "--listen", "127.0.0.1:0", "--interval", "0.2", "--cgroups",
                          "none", "--model", model}),
                {"PMCMODEL_SYSFS_ROOT=" + (t.path / "sys").string()}, t.path / "err.txt");
    int port = wait_for_port(serve);
    INFO(serve.err());
    REQUIRE(port > 0);
    const std::string watts =
        "pmcmodel_power_watts{domain=\"package\",method=\"model:" + model + "\"}";
    auto body = scrape_until(
        port, [&](const std::string& b) { return !std::isnan(sample_value(b, watts)); });
    double cpus = double(sysconf(_SC_NPROCESSORS_ONLN));
    CHECK(sample_value(body, watts) == doctest::Approx(8 + 0.02 * 1000 * cpus).epsilon(0.03));
    CHECK(sample_value(body, "pmcmodel_source_up{source=\"model:" + model + "\"}") == 1);
    CHECK(sample_value(body, "pmcmodel_source_up{source=\"powercap\"}") == 0);
    CHECK(serve.terminate(3000ms) == std::optional<int>(0));
  }

  TEST_CASE("serve: a real Prometheus's rate() of a GPU's energy is the trace's power") {
    if (!on_path("prometheus")) {
      MESSAGE(
          "prometheus not installed (Debian package prometheus; scripts/install-deps): skipped");
      return;
    }
    TempTree t("prometheus-gpu");
    int port = free_port(), prom_port = free_port();
    while (prom_port == port) prom_port = free_port();
    write_file(t.path / "prometheus.yml",
               "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
               "scrape_configs:\n  - job_name: pmcmodel\n    static_configs:\n"
               "      - targets: ['127.0.0.1:" +
                   std::to_string(port) + "']\n");
    // Prometheus first, so that it scrapes serve from its first second.
    Child prom({"prometheus", "--config.file=" + (t.path / "prometheus.yml").string(),
                "--storage.tsdb.path=" + (t.path / "tsdb").string(),
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
               {}, t.path / "prometheus-err.txt");
    bool ready = false;
    for (int i = 0; i < 300 && !ready; ++i) {
      ready = http_get(prom_port, "/-/ready").status == 200;
      if (!ready) std::this_thread::sleep_for(100ms);
    }
    INFO(prom.err());
    REQUIRE(ready);
    // The fake reads its trace time from a clock file that this test moves in real time (written
    // whole and renamed, so that a read never sees it half-written): held at 5 s, where the H200's
    // load starts its ~690 W plateau (5 s to 13.9 s of the trace), until Prometheus has scraped
    // serve once, then advancing with the wall clock. The rate is taken over the 5 wall seconds
    // that are the trace's 6.5 s to 11.5 s, however long serve and Prometheus took to start.
    constexpr double kHold = 5.0, kFrom = 6.5, kTo = 11.5;
    auto clock = t.path / "clock";
    auto write_clock = [&](double trace_s) {
      write_file(t.path / "clock.new", std::to_string(trace_s) + "\n");
      fs::rename(t.path / "clock.new", clock);
    };
    write_clock(kHold);
    std::atomic<double> advancing_since{-1};  // now_unix_s() when the clock started to move
    std::atomic<bool> feeding{true};
    std::thread feeder([&] {
      while (feeding) {
        double since = advancing_since;
        write_clock(since < 0 ? kHold : kHold + (now_unix_s() - since));
        std::this_thread::sleep_for(10ms);
      }
    });
    struct Stop {
      std::atomic<bool>& flag;
      std::thread& thread;
      ~Stop() {
        flag = false;
        thread.join();
      }
    } stop_feeder{feeding, feeder};
    Child serve(pmcmodel({"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--interval",
                          "0.1", "--cgroups", "none"}),
                {"PMCMODEL_SYSFS_ROOT=" + (t.path / "sys").string(),
                 std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML,
                 "PMC_FAKE_NVML_CLOCK=" + clock.string()},
                t.path / "serve-err.txt");
    INFO(serve.err());
    REQUIRE(wait_for_port(serve) == port);
    auto query_at = [&](const std::string& promql, std::optional<double> at) {
      std::string target = "/api/v1/query?query=" + url_encode(promql);
      if (at) target += "&time=" + std::to_string(*at);
      auto r = http_get(prom_port, target);
      INFO(r.body);
      REQUIRE(r.status == 200);
      return nlohmann::json::parse(r.body);
    };
    const std::string series = "pmcmodel_energy_joules_total{domain=\"gpu0\"}";
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (query_at(series, std::nullopt)["data"]["result"].empty()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(100ms);
    }
    double since = now_unix_s();
    advancing_since = since;
    double at = since + (kTo - kHold);
    while (now_unix_s() < at + 1.5) std::this_thread::sleep_for(100ms);
    auto query = [&](const std::string& promql) { return query_at(promql, at); };
    auto n = query("count_over_time(" + series + "[5s])");
    INFO(n.dump());
    REQUIRE(n["data"]["result"].size() == 1);
    CHECK(std::stod(n["data"]["result"][0]["value"][1].get<std::string>()) >= 4);
    auto rate = query("rate(" + series + "[5s])");
    // Queried before INFO, which evaluates its expression lazily: a REQUIRE inside it would report
    // from within the reporter.
    std::string samples = query(series + "[5s]").dump();
    INFO(rate.dump());
    INFO(samples);
    REQUIRE(rate["data"]["result"].size() == 1);
    double watts = std::stod(rate["data"]["result"][0]["value"][1].get<std::string>());
    // The trace's own energy counter over those 5 s: rows t=6.4942 (4797379 mJ) and t=11.4940
    // (8234752 mJ), 687.5 W. Prometheus's rate() extrapolates the samples inside the window to its
    // edges, which is exact at constant power: the plateau's 1 s averages stay within 691-703 W
    // (±1%); the counter steps every ~0.1 s (~70 J, 2% of the window) and a scraped value is up to
    // one 0.1 s sample old at either end. 5% covers their sum.
    double expected = (trace_energy_mj(kTo) - trace_energy_mj(kFrom)) / 1e3 / (kTo - kFrom);
    CHECK(expected == doctest::Approx(687.4746));
    CHECK(watts == doctest::Approx(expected).epsilon(0.05));
    CHECK(serve.terminate(3000ms) == std::optional<int>(0));
  }

  TEST_CASE("serve: a powercap counter that becomes unreadable is down, with no power, and why") {
    TempTree t("unreadable");
    auto sys = t.path / "sys";
    auto zone = powercap_zone(sys, 1000000, 262143328850);
    Child serve(pmcmodel({"serve", "--listen", "127.0.0.1:0", "--interval", "0.1", "--cgroups",
                          "none", "--gpus", "none"}),
                {"PMCMODEL_SYSFS_ROOT=" + sys.string()}, t.path / "err.txt");
    int port = wait_for_port(serve);
    INFO(serve.err());
    REQUIRE(port > 0);
    const std::string up = "pmcmodel_source_up{source=\"powercap\"}";
    const std::string watts =
        "pmcmodel_power_watts{domain=\"package-0\",method=\"measured:powercap\"}";
    auto body = scrape_until(port, [&](const std::string& b) { return sample_value(b, up) == 1; });
    CHECK(sample_value(body, up) == 1);
    CHECK_FALSE(std::isnan(sample_value(body, watts)));
    // Garbage in place of the number (same length, as the file is kept open).
    overwrite(zone / "energy_uj", "garbage-text\n");
    body = scrape_until(port, [&](const std::string& b) { return sample_value(b, up) == 0; });
    CHECK(sample_value(body, up) == 0);
    CHECK(std::isnan(sample_value(body, watts)));  // no power while it cannot be read
    CHECK(serve.err().find("powercap: down: intel-rapl:0/energy_uj: unreadable or not a number") !=
          std::string::npos);
    // A number again: up again.
    overwrite(zone / "energy_uj", uj(2000000));
    body = scrape_until(port, [&](const std::string& b) { return sample_value(b, up) == 1; });
    CHECK(sample_value(body, up) == 1);
    // The file removed: its open descriptor still reads the last text, but the counter is gone.
    fs::remove(zone / "energy_uj");
    body = scrape_until(port, [&](const std::string& b) { return sample_value(b, up) == 0; });
    CHECK(sample_value(body, up) == 0);
    CHECK(serve.err().find("powercap: down: intel-rapl:0/energy_uj was removed") !=
          std::string::npos);
    CHECK(serve.terminate(3000ms) == std::optional<int>(0));
  }

  TEST_CASE("serve --gpus with an index no GPU library sees stops at start with exit 2") {
    TempTree t("gpus");
    auto sys = t.path / "sys";
    powercap_zone(sys, 1000000, 262143328850);
    Child serve(pmcmodel({"serve", "--listen", "127.0.0.1:0", "--cgroups", "none", "--gpus", "5"}),
                {"PMCMODEL_SYSFS_ROOT=" + sys.string(),
                 "PMCMODEL_NVML_LIBRARY=" + (t.path / "no-libnvidia-ml.so").string(),
                 "PMCMODEL_AMDSMI_LIBRARY=" + (t.path / "no-libamd_smi.so").string()},
                t.path / "err.txt");
    // It exits by itself; one that started anyway says "listening" and is stopped here (0).
    for (int i = 0; i < 500 && serve.err().empty(); ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(200ms);
    auto status = serve.terminate(3000ms);
    INFO(serve.err());
    CHECK(status == std::optional<int>(2));
    CHECK(serve.err().find("--gpus: GPU 5 asked for") != std::string::npos);
    CHECK(serve.err().find("listening") == std::string::npos);
  }

  TEST_CASE("serve on a port another serve holds stops at start with exit 1 and says why") {
    TempTree t("port-in-use");
    auto sys = t.path / "sys";
    powercap_zone(sys, 1000000, 262143328850);
    const std::vector<std::string> env = {"PMCMODEL_SYSFS_ROOT=" + sys.string()};
    Child first(
        pmcmodel({"serve", "--listen", "127.0.0.1:0", "--cgroups", "none", "--gpus", "none"}), env,
        t.path / "first.txt");
    int port = wait_for_port(first);
    INFO(first.err());
    REQUIRE(port > 0);
    // A second exporter on the same port must not start: with SO_REUSEPORT it did, and the
    // kernel then split the scrapes between two processes with different counters.
    std::string listen = "127.0.0.1:" + std::to_string(port);
    Child second(pmcmodel({"serve", "--listen", listen, "--cgroups", "none", "--gpus", "none"}),
                 env, t.path / "second.txt");
    auto status = second.wait(10000ms);
    INFO(second.err());
    CHECK(status == std::optional<int>(1));
    CHECK(second.err().find("cannot listen on " + listen + ": Address already in use") !=
          std::string::npos);
    CHECK(second.err().find("listening") == std::string::npos);
    CHECK(http_get(port, "/healthz").body == "ok\n");  // the first one still answers
    CHECK(first.terminate(3000ms) == std::optional<int>(0));
  }

  TEST_CASE(
      "serve: a method other than GET or HEAD on /metrics or /healthz is 405, GET and HEAD 200") {
    TempTree t("methods");
    auto sys = t.path / "sys";
    powercap_zone(sys, 1000000, 262143328850);
    Child serve(
        pmcmodel({"serve", "--listen", "127.0.0.1:0", "--cgroups", "none", "--gpus", "none"}),
        {"PMCMODEL_SYSFS_ROOT=" + sys.string()}, t.path / "err.txt");
    int port = wait_for_port(serve);
    INFO(serve.err());
    REQUIRE(port > 0);
    for (const char* path : {"/metrics", "/healthz"}) {
      CAPTURE(path);
      CHECK(http_request(port, "GET", path).status == 200);
      CHECK(http_request(port, "HEAD", path).status == 200);
      for (const char* method : {"OPTIONS", "DELETE"}) {
        CAPTURE(method);
        auto reply = http_request(port, method, path);
        CHECK(reply.status == 405);
        CHECK(reply.headers.find("Allow: GET, HEAD") != std::string::npos);
      }
    }
    CHECK(http_request(port, "OPTIONS", "/other").status == 404);
    CHECK(serve.terminate(3000ms) == std::optional<int>(0));
  }

  TEST_CASE("serve on an IPv6 address says so in brackets, as --listen takes it") {
    TempTree t("ipv6");
    auto sys = t.path / "sys";
    powercap_zone(sys, 1000000, 262143328850);
    Child serve(pmcmodel({"serve", "--listen", "[::1]:0", "--cgroups", "none", "--gpus", "none"}),
                {"PMCMODEL_SYSFS_ROOT=" + sys.string()}, t.path / "err.txt");
    std::string err;
    for (int i = 0; i < 1000; ++i) {
      err = serve.err();
      if (err.find("listening on ") != std::string::npos ||
          err.find("cannot listen") != std::string::npos)
        break;
      std::this_thread::sleep_for(10ms);
    }
    INFO(err);
    if (err.find("cannot listen on [::1]:0") != std::string::npos) {
      MESSAGE("no IPv6 loopback here: not checked");
      return;
    }
    CHECK(err.find("listening on [::1]:") != std::string::npos);
    CHECK(err.find("listening on ::1:") == std::string::npos);
    CHECK(serve.terminate(3000ms) == std::optional<int>(0));
  }

  TEST_CASE("serve on a host that does not resolve stops at start with exit 1 and says so") {
    TempTree t("no-host");
    auto sys = t.path / "sys";
    powercap_zone(sys, 1000000, 262143328850);
    // .invalid never resolves (RFC 2606), with or without a network.
    Child serve(pmcmodel({"serve", "--listen", "no-such-host.invalid:0", "--cgroups", "none",
                          "--gpus", "none"}),
                {"PMCMODEL_SYSFS_ROOT=" + sys.string()}, t.path / "err.txt");
    // A resolver that does not answer takes its timeouts (5 s per try, glibc) before the failure:
    // the bound leaves room for them.
    auto status = serve.wait(60000ms);
    INFO(serve.err());
    CHECK(status == std::optional<int>(1));
    CHECK(serve.err().find("cannot listen on no-such-host.invalid:0: the host does not resolve") !=
          std::string::npos);
    CHECK(serve.err().find("listening") == std::string::npos);
  }
}
