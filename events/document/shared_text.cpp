#include "events/document/shared_text.h"

#include <array>
#include <mutex>
#include <unordered_set>

namespace pmc {
namespace {

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct Pool {
  std::mutex lock;
  // Node-based: an element's address does not change when the set grows.
  std::unordered_set<std::string, TextHash, std::equal_to<>> texts;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: records may outlive static destructors
  return *p;
}

}  // namespace

const std::string& SharedText::empty_text() noexcept {
  static const std::string* empty = new std::string();
  return *empty;
}

const std::string* SharedText::intern(std::string_view text) {
  if (text.empty()) return &empty_text();
  // The texts this thread asked for last, each in a slot chosen by its length and end bytes:
  // an import asks for the same few units a million times, and a hit here is one comparison
  // and takes no lock.
  constexpr size_t kSlots = 32;
  thread_local std::array<const std::string*, kSlots> recent{};
  size_t slot = (text.size() * 7 + size_t((unsigned char)text.front()) * 3 +
                 size_t((unsigned char)text.back())) %
                kSlots;
  if (const std::string* s = recent[slot]; s != nullptr && std::string_view(*s) == text) return s;
  const std::string* found = nullptr;
  {
    Pool& p = pool();
    std::lock_guard guard(p.lock);
    auto it = p.texts.find(text);
    if (it == p.texts.end()) it = p.texts.emplace(text).first;
    found = &*it;
  }
  recent[slot] = found;
  return found;
}

}  // namespace pmc
