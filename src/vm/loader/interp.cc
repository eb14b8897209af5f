#include "vm/loader/interp.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/confined_path.h"

namespace spectrum::vm {

namespace {
constexpr std::uint64_t kMaxInterpreter = 64ull << 20;
}

Result<std::optional<Interpreter>> read_interpreter(int root_fd, const ElfImage& program,
                                                    const std::string& program_name) {
  if (program.interpreter.empty()) return std::optional<Interpreter>();
  Interpreter in;
  in.path = program.interpreter;
  const std::string what = program_name + ": its dynamic linker " + in.path;
  auto fd = open_file_in_root(root_fd, in.path, O_RDONLY);
  if (!fd) {
    const int err = fd.error().sys_errno();
    if (err == ENOENT || err == ENOTDIR)
      return fail(what + " is not in the root filesystem", err, ExitCode::not_found);
    return fail(what + ": " + std::strerror(err), err, ExitCode::not_executable);
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return fail_errno(what);
  if (!S_ISREG(st.st_mode)) return fail(what + " is not a regular file", 0, ExitCode::not_executable);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxInterpreter) return fail(what + " is larger than 64 MiB");
  auto file = read_program_head(std::move(*fd), static_cast<std::uint64_t>(st.st_size));
  if (!file) return fail_errno(what, file.error());
  in.file = std::move(*file);
  in.elf = SPECTRUM_TRY(parse_program(in.file, in.path));
  if (!in.elf.interpreter.empty())
    return fail(what + " names a dynamic linker of its own (" + in.elf.interpreter + ")");
  if (!in.elf.position_independent)
    return fail(what + " is not a shared object (ET_DYN): it cannot be loaded beside the program");
  if (in.elf.highest_vaddr() - in.elf.lowest_vaddr() > (1ull << 30))
    return fail(what + " spans more than 1 GiB");
  return std::optional<Interpreter>(std::move(in));
}

}  // namespace spectrum::vm
