// An executable or dynamic linker as the loader reads it: the head of the file (enough for the ELF
// header, the program headers, PT_INTERP and a `#!` line) in memory, and the open file, from which
// load_program reads each PT_LOAD segment straight into guest memory (one pread per run of
// contiguous frames). Reading the whole file into a buffer first and copying it into the guest
// was a third of a vm boot's CPU (the buffer zeroed, faulted in and copied twice).
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "core/fd.h"
#include "vm/loader/elf.h"

namespace spectrum::vm {

struct ProgramFile {
  std::string head;        // the first bytes of the file (all of it when the file is small)
  std::uint64_t size = 0;  // the file's size
  UniqueFd fd;             // the open file, which the segments are read from
};

// Reads the head of an open regular file of `size` bytes; errno on a failed read.
std::expected<ProgramFile, int> read_program_head(UniqueFd fd, std::uint64_t size);

// parse_elf on the head; where the headers lie past it (an unusual layout), the whole file is
// read and parsed instead (then `file.head` is the whole file).
Result<ElfImage> parse_program(ProgramFile& file, const std::string& name);

}  // namespace spectrum::vm
