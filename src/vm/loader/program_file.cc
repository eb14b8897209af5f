#include "vm/loader/program_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace spectrum::vm {

namespace {
// ELF and program headers of ordinary executables end within the first few hundred bytes.
constexpr std::uint64_t kHeadBytes = 8192;

std::expected<std::string, int> read_range(int fd, std::uint64_t length) {
  std::string bytes(length, '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errno);
    if (n == 0) break;  // the file shrank since its size was taken
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}
}  // namespace

std::expected<ProgramFile, int> read_program_head(UniqueFd fd, std::uint64_t size) {
  ProgramFile file;
  auto head = read_range(fd.get(), std::min(size, kHeadBytes));
  if (!head) return std::unexpected(head.error());
  file.head = std::move(*head);
  file.size = file.head.size() < std::min(size, kHeadBytes) ? file.head.size() : size;
  file.fd = std::move(fd);
  return file;
}

Result<ElfImage> parse_program(ProgramFile& file, const std::string& name) {
  if (file.head.size() < file.size) {
    // The checks against the file's end are parse_elf's, on the whole file; a head that holds
    // every header it reads gives the same answer, so only a failing head is read in full.
    auto image = parse_elf(file.head, name, file.size);
    if (image) return image;
    auto whole = read_range(file.fd.get(), file.size);
    if (!whole) return fail_errno(name, whole.error());
    file.head = std::move(*whole);
    file.size = file.head.size();
  }
  return parse_elf(file.head, name, file.size);
}

}  // namespace spectrum::vm
