#pragma once
// Spare<T>: a part of a record that most records lack, kept off the record behind one pointer.
// An import holds a million event and metric records; fields that only `-r` repeats or a NaN
// metric carry would otherwise make every record larger (docs/PERFORMANCE.md, the import).
// Copying copies the part; reading an absent part reads a default T.
#include <memory>

namespace pmc {

template <class T>
class Spare {
 public:
  Spare() = default;
  Spare(const Spare& other) : part_(other.part_ ? std::make_unique<T>(*other.part_) : nullptr) {}
  Spare& operator=(const Spare& other) {
    if (this != &other) part_ = other.part_ ? std::make_unique<T>(*other.part_) : nullptr;
    return *this;
  }
  Spare(Spare&&) noexcept = default;
  Spare& operator=(Spare&&) noexcept = default;
  ~Spare() = default;

  bool has_value() const { return part_ != nullptr; }
  // The part, or a default T when the record has none (never allocates).
  const T& get() const { return part_ ? *part_ : empty(); }
  const T* operator->() const { return &get(); }
  // The part for writing, made on first use.
  T& set() {
    if (!part_) part_ = std::make_unique<T>();
    return *part_;
  }
  void reset() { part_.reset(); }

 private:
  static const T& empty() {
    static const T value{};
    return value;
  }
  std::unique_ptr<T> part_;
};

}  // namespace pmc
