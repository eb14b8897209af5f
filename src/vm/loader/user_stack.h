// The initial user stack of a new process, per the System V x86-64 ABI: argc, argv, envp, auxv and
// the strings and random bytes they point to, laid out below `top` as Linux's execve does.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace spectrum::vm {

struct AuxvInputs {
  std::uint64_t phdr = 0, phent = 0, phnum = 0, entry = 0;
  std::uint64_t hwcap = 0;
  std::uint64_t base = 0;  // AT_BASE: where the dynamic linker is loaded, 0 for a static program
  std::string execfn;      // AT_EXECFN: the program's path (argv[0] if empty)
  std::array<std::uint8_t, 16> random{};  // AT_RANDOM: seeds the stack protector and pointer guard
  std::uint64_t vdso = 0;                 // AT_SYSINFO_EHDR: the vDSO's image, 0 for none
};

struct InitialStack {
  std::uint64_t rsp = 0;            // the workload's rsp at entry (16-byte aligned, -> argc)
  std::vector<std::uint8_t> bytes;  // the content of [rsp, top)
  // Where the argv and envp strings lie: /proc/PID/cmdline and environ read them from there.
  std::uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

InitialStack build_initial_stack(std::uint64_t top, const std::vector<std::string>& argv,
                                 const std::vector<std::string>& envp, const AuxvInputs& aux);

}  // namespace spectrum::vm
