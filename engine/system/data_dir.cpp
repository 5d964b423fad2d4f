#include "engine/system/data_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "engine/system/self_exe.h"
#include "pmcmodel_version.h"

namespace pmc {
namespace fs = std::filesystem;

namespace {

bool holds_data(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "skus.csv", ec) || fs::is_directory(dir / "metrics", ec);
}

}  // namespace

DataDir find_data_dir() {
  if (const char* env = std::getenv("PMCMODEL_DATA_DIR"); env != nullptr && *env != '\0')
    return {env, "PMCMODEL_DATA_DIR"};
  if (fs::path exe = self_executable(); !exe.empty()) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "pmcmodel";
    if (holds_data(installed)) return {installed.lexically_normal().string(), "installed"};
  }
  if (holds_data(PMCMODEL_DATA_DIR)) return {PMCMODEL_DATA_DIR, "build tree"};
  return {"",
          "no data directory: set PMCMODEL_DATA_DIR, or install pmcmodel (share/pmcmodel beside "
          "bin/)"};
}

std::string data_file(const std::string& name) {
  DataDir dir = find_data_dir();
  return dir.path.empty() ? std::string() : (fs::path(dir.path) / name).string();
}

}  // namespace pmc
