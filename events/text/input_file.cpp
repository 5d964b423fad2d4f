#include "events/text/input_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pmc {
namespace {

std::atomic<uint64_t> g_max_input_bytes{kDefaultMaxInputBytes};

std::string limit_text(uint64_t bytes) {
  if (bytes >= (uint64_t(1) << 30) && bytes % (uint64_t(1) << 30) == 0)
    return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (uint64_t(1) << 20) && bytes % (uint64_t(1) << 20) == 0)
    return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

[[noreturn]] void too_large(const std::string& path, const std::string& size) {
  throw InputError(fmt::format(
      "{}: {} is more than the input limit of {} (raise it with --max-input-bytes BYTES)", path,
      size, limit_text(max_input_bytes())));
}

// Opens `path` for reading without blocking on a FIFO and checks what it is and its size.
int open_checked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    struct stat st {};
    // A FIFO without a writer still opens for reading with O_NONBLOCK; a socket does not open.
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
      throw InputError(
          fmt::format("{}: is {}, not a regular file", path, file_kind_name(st.st_mode)));
    throw InputError(fmt::format("{}: cannot open: {}", path, std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw InputError(fmt::format("{}: cannot read: {}", path, std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode))
      throw InputError(fmt::format("{}: is a directory, expected a file", path));
    throw InputError(
        fmt::format("{}: is {}, not a regular file", path, file_kind_name(st.st_mode)));
  }
  if (uint64_t(st.st_size) > max_input_bytes()) {
    ::close(fd);
    too_large(path, fmt::format("{} bytes", st.st_size));
  }
  // Reads of a regular file never block; the flag is dropped for tidiness.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

void read_all(int fd, const std::string& path, std::string& out, uint64_t limit) {
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    if (n == 0) return;
    if (out.size() + size_t(n) > limit) too_large(path, "the input");
    out.append(buffer, size_t(n));
  }
}

}  // namespace

uint64_t max_input_bytes() {
  return g_max_input_bytes.load(std::memory_order_relaxed);
}

void set_max_input_bytes(uint64_t bytes) {
  g_max_input_bytes.store(bytes, std::memory_order_relaxed);
}

std::string file_kind_name(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

void check_input_file(const std::string& path) {
  if (path == "-") return;
  ::close(open_checked(path));
}

std::string read_input_file(const std::string& path) {
  std::string text;
  if (path == "-") {
    read_all(STDIN_FILENO, "standard input", text, max_input_bytes());
    return text;
  }
  int fd = open_checked(path);
  struct stat st {};
  if (::fstat(fd, &st) == 0) text.reserve(size_t(st.st_size));
  try {
    // The file may grow while it is read: the limit holds for what is read, not only the size.
    read_all(fd, path, text, max_input_bytes());
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return text;
}

std::string find_oversized_line(std::string_view text, std::string_view origin, size_t max_fields) {
  size_t line = 1;
  for (size_t start = 0; start < text.size(); ++line) {
    const void* nl = std::memchr(text.data() + start, '\n', text.size() - start);
    size_t end = nl ? size_t(static_cast<const char*>(nl) - text.data()) : text.size();
    if (end - start > kMaxLineBytes)
      return fmt::format("{}:{}: a line longer than {} bytes; expected lines of text", origin, line,
                         kMaxLineBytes);
    // A line shorter than the field limit cannot hold that many commas: only a long one is
    // scanned byte by byte (the shipped tables' lines are a few hundred bytes).
    if (max_fields > 0 && end - start >= max_fields) {
      size_t commas = 0;
      bool quoted = false;
      for (size_t i = start; i < end; ++i) {
        char c = text[i];
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted && ++commas >= max_fields)
          return fmt::format("{}:{}: more than {} fields on a line", origin, line, max_fields);
      }
    }
    start = end + 1;
  }
  return {};
}

bool file_holds(const std::string& path, std::string_view bytes) {
  // O_NONBLOCK: a FIFO in the file's place must not block the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  bool same = false;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && uint64_t(st.st_size) == bytes.size()) {
    if (bytes.empty()) {
      same = true;
    } else if (void* map = ::mmap(nullptr, bytes.size(), PROT_READ, MAP_PRIVATE, fd, 0);
               map != MAP_FAILED) {
      same = std::memcmp(map, bytes.data(), bytes.size()) == 0;
      ::munmap(map, bytes.size());
    }
  }
  ::close(fd);
  return same;
}

}  // namespace pmc
