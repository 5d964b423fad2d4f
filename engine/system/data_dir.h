#pragma once
// Where pmcmodel's shipped data is (metrics/, skus.csv, grid.csv, recommendations.json): one
// lookup for every command, in this order:
//   1. $PMCMODEL_DATA_DIR, when set and not empty (taken as given, even if files are missing, so
//      that a wrong setting is reported instead of silently replaced);
//   2. <directory of the running executable>/../share/pmcmodel (an installed tree: bin/pmcmodel
//      beside share/pmcmodel/, wherever the prefix was copied to);
//   3. the build tree's source data/ (compiled in), so a binary run from its build folder works.
// A candidate in 2 or 3 counts only when it holds skus.csv or metrics/.
#include <string>

namespace pmc {

struct DataDir {
  std::string path;  // empty when none was found
  std::string how;   // "PMCMODEL_DATA_DIR", "installed", "build tree" or why none was found
};

DataDir find_data_dir();
// find_data_dir().path / name, or "" when there is no data directory.
std::string data_file(const std::string& name);

}  // namespace pmc
