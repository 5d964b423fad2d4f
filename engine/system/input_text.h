#pragma once
// The bytes of an input file, for readers that parse it in place: a regular file is mapped
// (MAP_POPULATE, so that a 100 MB recording is not copied through stream buffers), anything else
// (a pipe, /dev/stdin) read to its end. What check_input_file (events/text/input_file.h) refuses
// (a directory, a FIFO, a device, a file over the input limit) is refused before a byte is read.
#include <cstddef>
#include <string>
#include <string_view>

namespace pmc {

class InputText {
 public:
  // Throws InputError: the file refused by check_input_file, or "PATH: cannot open: <errno text>"
  // / "PATH: cannot read: <errno text>".
  explicit InputText(const std::string& path);
  ~InputText();
  InputText(const InputText&) = delete;
  InputText& operator=(const InputText&) = delete;

  std::string_view text() const {
    return mapped_ != nullptr ? std::string_view(static_cast<const char*>(mapped_), size_)
                              : std::string_view(read_);
  }

 private:
  void* mapped_ = nullptr;
  size_t size_ = 0;
  std::string read_;
};

}  // namespace pmc
