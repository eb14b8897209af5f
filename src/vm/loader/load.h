// Loading a program into an address space, as Linux's execve does: the ELF's PT_LOAD segments,
// its dynamic linker beside it, the stack with argv, envp and the auxiliary vector. Used for the
// first program (monitor.cc: prepare_guest) and by execve (kernel/exec.cc) alike.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "vm/loader/elf.h"
#include "vm/loader/interp.h"
#include "vm/memory.h"
#include "vm/vdso/vdso.h"

namespace spectrum::vm {

inline constexpr std::uint64_t kPieBase = 0x0000'5555'5555'4000;
inline constexpr std::uint64_t kStackTop = AddressSpace::kUserEnd;

struct ProgramImage {
  const std::string& name;  // the guest path: AT_EXECFN, messages
  // The executable's content: read from `fd` when it is open (loader/program_file.h), else
  // copied from `bytes`, the whole file.
  std::string_view bytes;
  const ElfImage& elf;
  const Interpreter* interpreter;  // null for a static program
  int fd = -1;
};

// A named part of the address space, as /proc/PID/maps shows it (the program, its dynamic linker,
// the stack, a mapped file).
struct NamedRange {
  std::uint64_t start = 0, end = 0;
  std::string name;
};

struct LoadedProgram {
  std::uint64_t load_bias = 0;
  std::uint64_t entry = 0;      // the program's entry (AT_ENTRY)
  std::uint64_t start = 0;      // the first instruction: the entry, or the dynamic linker's
  std::uint64_t rsp = 0;        // the initial stack pointer (-> argc)
  std::uint64_t brk_start = 0;  // the program break starts after the highest segment
  std::vector<NamedRange> names;
  std::uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;  // see InitialStack
};

enum class LoadError { no_memory, kernel_area, overlap, too_many_arguments, no_randomness, unreadable };
const char* load_error_text(LoadError e);

// Loads into `space`, which has no user mappings where the program goes (a fresh space, or one
// execve has emptied). On error part of the program may be mapped: the caller drops the space's
// user half. `vdso`, where there is one, is mapped too and named in the auxiliary vector.
std::expected<LoadedProgram, LoadError> load_program(AddressSpace& space, const ProgramImage& program,
                                                     const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& envp,
                                                     std::uint64_t stack_size, const Vdso* vdso = nullptr);

}  // namespace spectrum::vm
