// A writable copy of the sysfs-power `wrap` fixture tree, whose package counter a test moves by
// hand: one package zone, energy_uj 262143000000 and max_energy_range_uj R = 262143328850.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "events/names/sysroot.h"
#include "test_support.h"

namespace pmc::test {

struct WrapTree {
  std::filesystem::path dir;
  SysRoot root;
  explicit WrapTree(const std::string& name) : dir(make_temp_dir(name)) {
    std::filesystem::copy(std::filesystem::path(PMC_TEST_DATA) / "sysfs-power" / "wrap",
                          dir / "sys", std::filesystem::copy_options::recursive);
    root.sys = dir / "sys";
  }
  ~WrapTree() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  WrapTree(const WrapTree&) = delete;
  WrapTree& operator=(const WrapTree&) = delete;
  std::filesystem::path counter() const {
    return root.sys / "class/powercap/intel-rapl:0/energy_uj";
  }
  // In place, as the kernel's attribute changes under the source's open descriptor.
  void write(uint64_t uj) const {
    std::string text = std::to_string(uj) + "\n";
    int fd = ::open(counter().c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == ssize_t(text.size()));
    REQUIRE(::ftruncate(fd, off_t(text.size())) == 0);
    ::close(fd);
  }
};

}  // namespace pmc::test
