#include "vm/loader/elf.h"

#include <elf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "vm/x86.h"

namespace spectrum::vm {

namespace {
constexpr std::uint64_t kPage = 4096;
using x86::hex;

Error elf_error(const std::string& name, const std::string& what) {
  return Error(name + ": not a valid x86-64 ELF executable: " + what);
}
}  // namespace

std::uint64_t ElfImage::lowest_vaddr() const {
  return segments.empty() ? 0 : segments.front().vaddr & ~(kPage - 1);
}
std::uint64_t ElfImage::highest_vaddr() const {
  std::uint64_t end = 0;
  for (const auto& s : segments) end = std::max(end, s.vaddr + s.memory_size);
  return end;
}

Result<ElfImage> parse_elf(std::string_view bytes, const std::string& name, std::uint64_t file_size) {
  Elf64_Ehdr eh;
  if (file_size < sizeof eh)
    return std::unexpected(elf_error(
        name, "file is " + std::to_string(file_size) + " bytes, shorter than the 64-byte ELF header"));
  if (bytes.size() < sizeof eh || bytes.size() > file_size)
    return std::unexpected(elf_error(name, "the ELF header lies past the bytes read"));
  std::memcpy(&eh, bytes.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return std::unexpected(elf_error(name, "bad magic at offset 0"));
  if (eh.e_ident[EI_CLASS] != ELFCLASS64)
    return std::unexpected(elf_error(name, "e_ident[EI_CLASS] (offset 4) is not ELFCLASS64"));
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return std::unexpected(elf_error(name, "e_ident[EI_DATA] (offset 5) is not little-endian"));
  if (eh.e_machine != EM_X86_64)
    return std::unexpected(
        elf_error(name, "e_machine (offset 18) is " + std::to_string(eh.e_machine) + ", not x86-64"));
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    return std::unexpected(
        elf_error(name, "e_type (offset 16) is " + std::to_string(eh.e_type) + ", not an executable"));
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    return std::unexpected(
        elf_error(name, "e_phentsize (offset 54) is " + std::to_string(eh.e_phentsize) + ", expected 56"));
  if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
    return std::unexpected(elf_error(name, "e_phnum (offset 56) is " + std::to_string(eh.e_phnum)));
  const std::uint64_t table_size = std::uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (eh.e_phoff > file_size || table_size > file_size - eh.e_phoff)
    return std::unexpected(elf_error(name, "program headers at e_phoff " + hex(eh.e_phoff) +
                                               " run past the end of the file (" + std::to_string(file_size) +
                                               " bytes)"));
  if (eh.e_phoff > bytes.size() || table_size > bytes.size() - eh.e_phoff)
    return std::unexpected(elf_error(name, "program headers lie past the bytes read"));

  ElfImage image;
  image.position_independent = eh.e_type == ET_DYN;
  image.entry = eh.e_entry;
  image.phdr_count = eh.e_phnum;
  image.phdr_entry_size = eh.e_phentsize;
  bool have_phdr = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    const std::uint64_t at = eh.e_phoff + i * sizeof(Elf64_Phdr);
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes.data() + at, sizeof ph);
    const std::string where = "program header " + std::to_string(i) + " (offset " + hex(at) + ")";
    switch (ph.p_type) {
      case PT_INTERP: {
        // The dynamic linker's path: a NUL-terminated string inside the file, loaded from the
        // root filesystem by the loader (loader/interp.h).
        if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset || ph.p_filesz < 2 ||
            ph.p_filesz > 4096)
          return std::unexpected(elf_error(name, where + ": PT_INTERP p_offset " + hex(ph.p_offset) +
                                                     " + p_filesz " + hex(ph.p_filesz) +
                                                     " is not a path inside the file"));
        if (ph.p_offset > bytes.size() || ph.p_filesz > bytes.size() - ph.p_offset)
          return std::unexpected(elf_error(name, where + ": PT_INTERP lies past the bytes read"));
        std::string interp(bytes.substr(ph.p_offset, ph.p_filesz));
        if (interp.back() != '\0' || interp.find('\0') != interp.size() - 1 || interp.front() != '/')
          return std::unexpected(
              elf_error(name, where + ": PT_INTERP is not one absolute, NUL-terminated path"));
        interp.pop_back();
        image.interpreter = interp;
        break;
      }
      case PT_PHDR:
        image.phdr_vaddr = ph.p_vaddr;
        have_phdr = true;
        break;
      case PT_GNU_STACK:
        image.executable_stack = ph.p_flags & PF_X;
        break;
      case PT_LOAD: {
        if (ph.p_filesz > ph.p_memsz)
          return std::unexpected(elf_error(name, where + ": p_filesz exceeds p_memsz"));
        if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset)
          return std::unexpected(elf_error(name, where + ": p_offset " + hex(ph.p_offset) + " + p_filesz " +
                                                     hex(ph.p_filesz) + " runs past the end of the file"));
        if (ph.p_memsz > (1ull << 46) || ph.p_vaddr > (1ull << 47) - ph.p_memsz)
          return std::unexpected(elf_error(name, where + ": p_vaddr " + hex(ph.p_vaddr) + " + p_memsz " +
                                                     hex(ph.p_memsz) + " is outside user space"));
        if ((ph.p_vaddr & (kPage - 1)) != (ph.p_offset & (kPage - 1)))
          return std::unexpected(
              elf_error(name, where + ": p_vaddr and p_offset differ modulo the page size"));
        ElfSegment seg;
        seg.file_offset = ph.p_offset;
        seg.file_size = ph.p_filesz;
        seg.vaddr = ph.p_vaddr;
        seg.memory_size = ph.p_memsz;
        seg.prot = (ph.p_flags & PF_R ? PROT_READ : 0) | (ph.p_flags & PF_W ? PROT_WRITE : 0) |
                   (ph.p_flags & PF_X ? PROT_EXEC : 0);
        if (seg.memory_size > 0) image.segments.push_back(seg);
        if (!have_phdr && eh.e_phoff >= ph.p_offset && eh.e_phoff + table_size <= ph.p_offset + ph.p_filesz)
          image.phdr_vaddr = ph.p_vaddr + (eh.e_phoff - ph.p_offset);
        break;
      }
      default:
        break;
    }
  }
  if (image.segments.empty()) return std::unexpected(elf_error(name, "no PT_LOAD segment"));
  std::sort(image.segments.begin(), image.segments.end(),
            [](const auto& a, const auto& b) { return a.vaddr < b.vaddr; });
  for (std::size_t i = 1; i < image.segments.size(); ++i) {
    const auto& prev = image.segments[i - 1];
    if (((prev.vaddr + prev.memory_size + kPage - 1) & ~(kPage - 1)) >
        (image.segments[i].vaddr & ~(kPage - 1)))
      return std::unexpected(elf_error(name, "PT_LOAD segments at " + hex(prev.vaddr) + " and " +
                                                 hex(image.segments[i].vaddr) + " overlap"));
  }
  bool entry_ok = false;
  for (const auto& s : image.segments)
    if ((s.prot & PROT_EXEC) && image.entry >= s.vaddr && image.entry < s.vaddr + s.memory_size)
      entry_ok = true;
  if (!entry_ok)
    return std::unexpected(
        elf_error(name, "e_entry (offset 24) " + hex(image.entry) + " is not inside an executable segment"));
  return image;
}

}  // namespace spectrum::vm
