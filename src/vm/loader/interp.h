// The dynamic linker of a dynamic executable (PT_INTERP): glibc's ld-linux-x86-64.so.2 or musl's
// ld-musl-x86_64.so.1, read from the guest's root filesystem and loaded beside the program, as
// Linux's binfmt_elf does. The program itself is mapped by the monitor too; the linker then maps
// the libraries through the guest's own mmap calls.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "vm/loader/elf.h"
#include "vm/loader/program_file.h"

namespace spectrum::vm {

struct Interpreter {
  std::string path;  // the guest path from PT_INTERP
  ProgramFile file;  // its head and open file (read into guest memory by the loader)
  ElfImage elf;      // parsed: ET_DYN, no PT_INTERP of its own
};

// Where the interpreter is loaded (its lowest page); the gap below the stack, as Linux's mmap base.
inline constexpr std::uint64_t kInterpreterBase = 0x0000'7fff'0000'0000;

// nullopt for a static program. Errors (one line each): the linker missing from the root
// filesystem (exit 127, like execve's ENOENT), unreadable, not an ELF shared object, or dynamic
// itself (exit 125).
Result<std::optional<Interpreter>> read_interpreter(int root_fd, const ElfImage& program,
                                                    const std::string& program_name);

}  // namespace spectrum::vm
