#include "models/fleet/sku_suggest.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <utility>

namespace pmc {
namespace {

// Lower-case words of a CPU name without "(R)", "(TM)", "CPU", "Processor" and "@ 2.50GHz".
std::vector<std::string> words(std::string_view name) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    static const std::set<std::string, std::less<>> noise = {"r", "tm", "cpu", "processor", "@"};
    bool clock = word.size() > 3 && word.ends_with("ghz");
    if (!word.empty() && !noise.contains(word) && !clock) out.push_back(word);
    word.clear();
  };
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '@')
      word += char(std::tolower(static_cast<unsigned char>(c)));
    else
      flush();
  }
  flush();
  return out;
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '@';
}

// Whether `name` holds `word` (lower case, as words() gives it) as one of its words, compared
// without copying: the catalog has thousands of names and this runs at every start-up on a CPU
// the catalog does not name.
bool has_word(std::string_view name, std::string_view word) {
  size_t i = 0;
  while (i < name.size()) {
    while (i < name.size() && !word_char(name[i])) ++i;
    size_t end = i;
    while (end < name.size() && word_char(name[end])) ++end;
    if (end - i == word.size()) {
      bool same = true;
      for (size_t k = 0; k < word.size() && same; ++k)
        same = char(std::tolower(static_cast<unsigned char>(name[i + k]))) == word[k];
      if (same) return true;
    }
    i = end;
  }
  return false;
}

}  // namespace

std::vector<const Sku*> closest_skus(const SkuCatalog& catalog, std::string_view cpu_model,
                                     int logical_cpus, size_t count) {
  auto wanted = words(cpu_model);
  struct Scored {
    size_t shared;
    double size_gap;
    const Sku* sku;
  };
  std::vector<Scored> scored;
  for (const Sku& sku : catalog.skus()) {
    size_t shared = 0;
    for (const auto& w : wanted)
      if (has_word(sku.cpu_model, w)) ++shared;
    if (shared == 0) continue;
    double gap = logical_cpus > 0 && sku.threads > 0
                     ? std::abs(std::log(double(sku.threads) / double(logical_cpus)))
                     : 0.0;
    scored.push_back({shared, gap, &sku});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    if (a.shared != b.shared) return a.shared > b.shared;
    return a.size_gap < b.size_gap;
  });
  std::vector<const Sku*> out;
  std::set<std::pair<std::string, int>> seen;  // one per CPU model and thread count
  for (const Scored& s : scored) {
    if (out.size() == count) break;
    if (seen.insert({s.sku->cpu_model, s.sku->threads}).second) out.push_back(s.sku);
  }
  return out;
}

std::string describe_skus(const std::vector<const Sku*>& skus) {
  std::string out;
  for (const Sku* s : skus)
    out += (out.empty() ? "" : ", ") + s->id + " (" + s->cpu_model + ", " +
           std::to_string(s->threads) + " threads)";
  return out;
}

}  // namespace pmc
