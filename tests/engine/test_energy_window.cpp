// The window of a run's energy: EnergyRecorder tied to run_counted as measure ties it (begin_run
// at RunOptions::on_start, end_run at on_stop) reads its source over the run's duration only. A
// powercap fixture's counter is moved by hand while the counters open (before the run), by the
// command (during it) and once run_counted has returned (after it, while pmcmodel builds the
// document): only the command's step is the run's energy.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/counting/counters.h"
#include "engine/power/energy_accounting.h"
#include "engine/session/session.h"
#include "test_support.h"
#include "wrap_tree.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

// No events; opening them is when the machine draws the energy `on_open` adds.
class OpeningCounters final : public Counters {
 public:
  explicit OpeningCounters(std::function<void()> on_open) : on_open_(std::move(on_open)) {}
  void open(const Target&) override { on_open_(); }
  void enable() override {}
  void disable() override {}
  std::vector<EventCount> read() override { return {}; }
  std::vector<std::string> notes() const override { return {}; }

 private:
  std::function<void()> on_open_;
};

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("a run's energy is what the source read from the command's start to its end") {
    pmc::test::WrapTree tree("energy-window");
    EnergySettings settings;
    settings.power_source = "powercap";
    settings.gpus = "none";
    MachineInfo machine;
    machine.logical_cpus = 2;
    EnergyRecorder energy(settings, tree.root, machine, true);
    // Before the run: 262143000000 → 1000000 µJ across the wrap at R, 1.32885 J.
    OpeningCounters counters([&] { tree.write(1000000); });
    RunOptions o;
    // The command: 1000000 → 3000000 µJ, 2 J. It writes the file whole (a new file renamed over
    // the counter would not be seen through the source's open descriptor).
    o.argv = {"/bin/sh", "-c", "printf '3000000\\n' 1<>" + tree.counter().string()};
    o.sample_ms = energy.sample_ms();
    o.on_sample = [&] { energy.sample(); };
    o.on_start = [&] { energy.begin_run(); };
    o.on_stop = [&] { energy.end_run(); };
    auto r = run_counted(counters, o, nullptr);
    REQUIRE(r.exit_status == 0);
    // After the run, before the document is built: 3000000 → 9000000 µJ, 6 J.
    tree.write(9000000);
    Measurement m;
    m.duration_s = r.duration_s;
    m.target = MeasurementTarget::system_wide;
    energy.complete_run(m);
    const EnergyReading* package = nullptr;
    for (const auto& e : m.energy)
      if (e.domain == "package-0" && e.scope == EnergyScope::machine) package = &e;
    REQUIRE(package != nullptr);
    CHECK(package->joules == doctest::Approx(2.0).epsilon(1e-12));
    CHECK(package->method == "measured:powercap");
  }
}
