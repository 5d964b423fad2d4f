#include "engine/system/input_text.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/system/fd.h"
#include "events/text/input_file.h"

namespace pmc {

InputText::InputText(const std::string& path) {
  check_input_file(path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int error = errno;
    throw InputError(path + ": cannot open: " + std::strerror(error));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p =
        ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (p != MAP_FAILED) {
      mapped_ = p;
      size_ = size_t(st.st_size);
      return;
    }
  }
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      throw InputError(path + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;
    read_.append(buffer, size_t(n));
  }
}

InputText::~InputText() {
  if (mapped_ != nullptr) ::munmap(mapped_, size_);
}

}  // namespace pmc
