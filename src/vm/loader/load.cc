#include "vm/loader/load.h"

#include <sys/random.h>

#include <optional>
#include <span>

#include "vm/loader/user_stack.h"

namespace spectrum::vm {

using x86::kPageSize;
using x86::page_down;
using x86::page_up;

namespace {

constexpr std::uint64_t kMaxRun = 64ull << 20;

// Each PT_LOAD segment mapped at vaddr + bias, filled from the file (read from `fd` straight into
// guest memory when it is open, else copied from `bytes`), then given its protection (a page
// shared by two segments gets the union).
std::optional<LoadError> load_image(AddressSpace& space, const ElfImage& elf, std::string_view bytes, int fd,
                                    std::uint64_t bias) {
  for (const auto& seg : elf.segments) {
    const std::uint64_t start = page_down(seg.vaddr + bias),
                        end = page_up(seg.vaddr + bias + seg.memory_size);
    if (start < AddressSpace::kUserLowest) return LoadError::kernel_area;
    // One map call per run of pages no earlier segment mapped (a run is cut at 64 MiB, so that a
    // segment larger than guest memory fails at its first call, not after a walk of its length).
    for (std::uint64_t page = start; page < end;) {
      std::uint64_t run_end = page;
      while (run_end < end && run_end - page < kMaxRun && !space.is_mapped(run_end)) run_end += kPageSize;
      if (run_end == page) {
        page += kPageSize;
        continue;
      }
      if (!space.map(page, run_end - page, kProtRead | kProtWrite)) return LoadError::no_memory;
      page = run_end;
    }
    if (fd >= 0) {
      if (!space.fill_from_file(seg.vaddr + bias, fd, seg.file_offset, seg.file_size))
        return LoadError::unreadable;
      continue;
    }
    if (seg.file_offset > bytes.size() || seg.file_size > bytes.size() - seg.file_offset)
      return LoadError::unreadable;
    std::span<const std::uint8_t> content(
        reinterpret_cast<const std::uint8_t*>(bytes.data()) + seg.file_offset, seg.file_size);
    if (!space.fill(seg.vaddr + bias, content)) return LoadError::no_memory;
  }
  for (const auto& seg : elf.segments) {
    const std::uint64_t start = page_down(seg.vaddr + bias),
                        end = page_up(seg.vaddr + bias + seg.memory_size);
    // One protect call per run of pages with the same protection: a call that takes a right away
    // makes the host forget the frames' translations (a host mprotect pair), and one per page
    // was most of a static program's boot.
    const auto prot_at = [&](std::uint64_t page) {
      unsigned prot = seg.prot;
      for (const auto& other : elf.segments) {
        const std::uint64_t o_start = page_down(other.vaddr + bias),
                            o_end = page_up(other.vaddr + bias + other.memory_size);
        if (page >= o_start && page < o_end) prot |= other.prot;
      }
      return prot;
    };
    for (std::uint64_t page = start; page < end;) {
      const unsigned prot = prot_at(page);
      std::uint64_t run_end = page + kPageSize;
      while (run_end < end && prot_at(run_end) == prot) run_end += kPageSize;
      (void)space.protect(page, run_end - page, prot);
      page = run_end;
    }
  }
  return std::nullopt;
}

}  // namespace

const char* load_error_text(LoadError e) {
  switch (e) {
    case LoadError::no_memory:
      return "guest memory is too small for the program";
    case LoadError::kernel_area:
      return "a segment lies in the guest kernel's area (below 0x200000)";
    case LoadError::overlap:
      return "the program's segments overlap where its dynamic linker goes";
    case LoadError::too_many_arguments:
      return "arguments and environment too large for the guest's stack";
    case LoadError::no_randomness:
      return "getrandom for AT_RANDOM failed";
    case LoadError::unreadable:
      return "the file could not be read to the end its program headers name";
  }
  return "?";
}

std::expected<LoadedProgram, LoadError> load_program(AddressSpace& space, const ProgramImage& program,
                                                     const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& envp,
                                                     std::uint64_t stack_size, const Vdso* vdso) {
  LoadedProgram out;
  const ElfImage& elf = program.elf;
  out.load_bias = elf.position_independent ? kPieBase - elf.lowest_vaddr() : 0;
  for (const auto& seg : elf.segments)
    if (page_down(seg.vaddr + out.load_bias) < AddressSpace::kUserLowest)
      return std::unexpected(LoadError::kernel_area);
  if (auto e = load_image(space, elf, program.bytes, program.fd, out.load_bias)) return std::unexpected(*e);
  out.names.push_back({page_down(elf.lowest_vaddr() + out.load_bias),
                       page_up(elf.highest_vaddr() + out.load_bias), program.name});
  out.entry = elf.entry + out.load_bias;
  out.start = out.entry;
  std::uint64_t interp_base = 0;
  if (program.interpreter) {
    const ElfImage& ld = program.interpreter->elf;
    interp_base = kInterpreterBase;
    const std::uint64_t ld_bias = kInterpreterBase - ld.lowest_vaddr();
    if (!space.range_free(kInterpreterBase, page_up(ld.highest_vaddr() - ld.lowest_vaddr())))
      return std::unexpected(LoadError::overlap);
    if (auto e = load_image(space, ld, program.interpreter->file.head, program.interpreter->file.fd.get(),
                            ld_bias))
      return std::unexpected(*e);
    out.start = ld.entry + ld_bias;
    out.names.push_back({kInterpreterBase, kInterpreterBase + page_up(ld.highest_vaddr() - ld.lowest_vaddr()),
                         program.interpreter->path});
  }
  out.brk_start = page_up(elf.highest_vaddr() + out.load_bias);

  // The stack, with guard space below it left unmapped.
  if (!space.map(kStackTop - stack_size, stack_size,
                 kProtRead | kProtWrite | (elf.executable_stack ? unsigned{kProtExec} : 0u)))
    return std::unexpected(LoadError::no_memory);
  out.names.push_back({kStackTop - stack_size, kStackTop, "[stack]"});
  AuxvInputs aux;
  if (vdso) {
    const auto placed = vdso->map_into(space, kInterpreterBase);
    if (!placed) return std::unexpected(LoadError::no_memory);
    out.names.push_back({placed->data, placed->image, "[vvar]"});
    out.names.push_back({placed->image, placed->end, "[vdso]"});
    aux.vdso = placed->image;
  }
  aux.phdr = elf.phdr_vaddr + out.load_bias;
  aux.phent = elf.phdr_entry_size;
  aux.phnum = elf.phdr_count;
  aux.entry = out.entry;
  aux.base = interp_base;
  aux.execfn = program.name;
  std::uint32_t eax = 1, ebx, ecx = 0, edx;
  __asm__("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
  aux.hwcap = edx;
  if (::getrandom(aux.random.data(), aux.random.size(), 0) != static_cast<ssize_t>(aux.random.size()))
    return std::unexpected(LoadError::no_randomness);
  InitialStack stack = build_initial_stack(kStackTop, argv, envp, aux);
  if (stack.bytes.size() > stack_size / 2) return std::unexpected(LoadError::too_many_arguments);
  if (!space.write(stack.rsp, stack.bytes)) return std::unexpected(LoadError::no_memory);
  out.rsp = stack.rsp;
  out.arg_start = stack.arg_start, out.arg_end = stack.arg_end;
  out.env_start = stack.env_start, out.env_end = stack.env_end;
  return out;
}

}  // namespace spectrum::vm
