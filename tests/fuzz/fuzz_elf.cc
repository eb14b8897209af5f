// libFuzzer target: the vm tier's ELF parser, which reads the program file out of a root
// filesystem the user (or a bundle's author) supplies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vm/loader/elf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)spectrum::vm::parse_elf(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  return 0;
}
