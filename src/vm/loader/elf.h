// Reading the workload's executable: an x86-64 ELF (ET_EXEC or ET_DYN, static, static-PIE, or
// dynamic with a PT_INTERP naming its dynamic linker). Decoding and validation only; loading is
// the loader's job (monitor.cc: prepare_guest, loader/interp.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace spectrum::vm {

struct ElfSegment {
  std::uint64_t file_offset = 0, file_size = 0;
  std::uint64_t vaddr = 0, memory_size = 0;
  unsigned prot = 0;  // PROT_READ | PROT_WRITE | PROT_EXEC from p_flags
};

struct ElfImage {
  bool position_independent = false;  // ET_DYN: loaded at a base the loader chooses
  std::uint64_t entry = 0;
  std::uint64_t phdr_vaddr = 0;  // where the program headers are in memory (before the load bias)
  std::uint16_t phdr_count = 0;
  std::uint16_t phdr_entry_size = 0;
  std::vector<ElfSegment> segments;  // PT_LOAD, in ascending vaddr order
  bool executable_stack = false;     // PT_GNU_STACK with PF_X
  std::string interpreter;           // PT_INTERP: the dynamic linker's guest path; "" if static

  std::uint64_t lowest_vaddr() const;
  std::uint64_t highest_vaddr() const;  // end of the last segment
};

// Errors name the file and the field or byte offset at fault. All are Spectrum errors (exit 125):
// the run never starts.
// `bytes` is the file, or (with `file_size`) its first bytes: the checks against the end of the
// file use file_size, and a header that lies past `bytes` is an error (loader/program_file.h then
// reads the whole file).
Result<ElfImage> parse_elf(std::string_view bytes, const std::string& name, std::uint64_t file_size);
inline Result<ElfImage> parse_elf(std::string_view bytes, const std::string& name) {
  return parse_elf(bytes, name, bytes.size());
}

}  // namespace spectrum::vm
