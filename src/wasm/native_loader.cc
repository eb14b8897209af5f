// Links an ELF relocatable object made by the compiler into the process, without LLVM (spectrum is
// static, and glibc cannot dlopen LLVM there): the allocated sections go into one mapping, code
// first, then a stub per external function (jmp through its GOT slot), then data and the GOT;
// relocations are applied; the code becomes read+execute and the rest read-only.
//
// Only what the compiler emits for x86-64 with the small PIC code model is accepted: R_X86_64_64,
// PC32, PLT32 and the GOTPCREL family. External symbols are the runtime helpers and a few C
// library functions LLVM may call; anything else is an error (the artifact is then not used).
// Every offset and index is checked: an artifact is verified before it gets here, but the loader
// does not rely on that.
#include <elf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "wasm/native.h"

namespace spectrum::wasm {

namespace {

void* libc_address(std::string_view name) {
  using D = double (*)(double);
  using F = float (*)(float);
  static const std::pair<std::string_view, void*> table[] = {
      {"memcpy", reinterpret_cast<void*>(&std::memcpy)},
      {"memmove", reinterpret_cast<void*>(&std::memmove)},
      {"memset", reinterpret_cast<void*>(&std::memset)},
      {"ceil", reinterpret_cast<void*>(static_cast<D>(&::ceil))},
      {"ceilf", reinterpret_cast<void*>(static_cast<F>(&::ceilf))},
      {"floor", reinterpret_cast<void*>(static_cast<D>(&::floor))},
      {"floorf", reinterpret_cast<void*>(static_cast<F>(&::floorf))},
      {"trunc", reinterpret_cast<void*>(static_cast<D>(&::trunc))},
      {"truncf", reinterpret_cast<void*>(static_cast<F>(&::truncf))},
      {"roundeven", reinterpret_cast<void*>(static_cast<D>(&::roundeven))},
      {"roundevenf", reinterpret_cast<void*>(static_cast<F>(&::roundevenf))},
      {"sqrt", reinterpret_cast<void*>(static_cast<D>(&::sqrt))},
      {"sqrtf", reinterpret_cast<void*>(static_cast<F>(&::sqrtf))},
  };
  for (const auto& [n, p] : table)
    if (n == name) return p;
  return nullptr;
}

constexpr std::size_t kPage = 4096;
std::size_t align_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

}  // namespace

NativeModule::~NativeModule() {
  unregister_code(this);
  if (mapping) ::munmap(mapping, mapping_size);
}

std::shared_ptr<NativeModule> load_object(const ModuleData& module, const std::vector<std::uint8_t>& obj,
                                          std::string* error) {
  auto bad = [&](const std::string& what) {
    *error = "loading compiled code: " + what;
    return nullptr;
  };
  auto in_bounds = [&](std::uint64_t off, std::uint64_t size) {
    return off <= obj.size() && size <= obj.size() - off;
  };
  if (obj.size() < sizeof(Elf64_Ehdr)) return bad("truncated object");
  Elf64_Ehdr eh;
  std::memcpy(&eh, obj.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_REL || eh.e_machine != EM_X86_64)
    return bad("not an x86-64 ELF relocatable object");
  if (eh.e_shnum == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      !in_bounds(eh.e_shoff, std::uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr)))
    return bad("bad section table");
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  std::memcpy(sh.data(), obj.data() + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr& s : sh)
    if (s.sh_type != SHT_NOBITS && !in_bounds(s.sh_offset, s.sh_size)) return bad("section out of the file");

  // The symbol table and its strings.
  const Elf64_Shdr* symtab = nullptr;
  for (const Elf64_Shdr& s : sh)
    if (s.sh_type == SHT_SYMTAB) symtab = &s;
  if (!symtab || symtab->sh_entsize != sizeof(Elf64_Sym) || symtab->sh_link >= sh.size())
    return bad("no symbol table");
  const Elf64_Shdr& strtab = sh[symtab->sh_link];
  if (strtab.sh_type != SHT_STRTAB) return bad("no string table");  // bounds-checked above (not NOBITS)
  std::vector<Elf64_Sym> syms(symtab->sh_size / sizeof(Elf64_Sym));
  if (syms.empty()) return bad("no symbols");
  std::memcpy(syms.data(), obj.data() + symtab->sh_offset, syms.size() * sizeof(Elf64_Sym));
  auto sym_name = [&](const Elf64_Sym& s) -> std::string_view {
    if (s.st_name >= strtab.sh_size) return {};
    const char* base = reinterpret_cast<const char*>(obj.data() + strtab.sh_offset);
    const std::size_t max = strtab.sh_size - s.st_name;
    return std::string_view(base + s.st_name, strnlen(base + s.st_name, max));
  };

  // Layout: executable sections, stubs, then the other allocated sections and the GOT.
  std::vector<std::size_t> addr(sh.size(), SIZE_MAX);
  std::size_t size = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < sh.size(); ++i) {
      const Elf64_Shdr& s = sh[i];
      if (!(s.sh_flags & SHF_ALLOC) || s.sh_size == 0) continue;
      if (static_cast<bool>(s.sh_flags & SHF_EXECINSTR) != (pass == 0)) continue;
      const std::size_t align = std::max<std::size_t>(1, s.sh_addralign);
      if (align > kPage || s.sh_size > (1ull << 30)) return bad("section too large or over-aligned");
      size = align_up(size, align);
      addr[i] = size;
      size += s.sh_size;
    }
    if (pass == 0) size = 0;  // data sections: offsets from the start of the data part
  }
  // Symbols that need a GOT slot or a stub, found from the relocations.
  std::unordered_map<std::uint32_t, std::size_t> got_index, stub_index;
  for (const Elf64_Shdr& rs : sh) {
    if (rs.sh_type != SHT_RELA) continue;
    if (rs.sh_entsize != sizeof(Elf64_Rela) || rs.sh_info >= sh.size()) return bad("bad relocation section");
    if (addr[rs.sh_info] == SIZE_MAX) continue;  // relocations of a section not loaded
    for (std::size_t k = 0; k < rs.sh_size / sizeof(Elf64_Rela); ++k) {
      Elf64_Rela r;
      std::memcpy(&r, obj.data() + rs.sh_offset + k * sizeof r, sizeof r);
      const std::uint32_t si = ELF64_R_SYM(r.r_info);
      if (si >= syms.size()) return bad("relocation names no symbol");
      const std::uint32_t type = ELF64_R_TYPE(r.r_info);
      if (type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX)
        got_index.emplace(si, got_index.size());
      if (type == R_X86_64_PLT32 && syms[si].st_shndx == SHN_UNDEF) {
        stub_index.emplace(si, stub_index.size());
        got_index.emplace(si, got_index.size());
      }
    }
  }
  // The code part ends at the first data section; stubs go right after the code.
  std::size_t code_end = 0;
  for (std::size_t i = 0; i < sh.size(); ++i)
    if (addr[i] != SIZE_MAX && (sh[i].sh_flags & SHF_EXECINSTR))
      code_end = std::max(code_end, addr[i] + sh[i].sh_size);
  const std::size_t stubs = align_up(code_end, 16);
  const std::size_t text_size = align_up(stubs + stub_index.size() * 16, kPage);
  // The data part starts on the page after the code (its sections' alignment is at most a page).
  std::size_t data_end = text_size;
  for (std::size_t i = 0; i < sh.size(); ++i) {
    if (addr[i] == SIZE_MAX || (sh[i].sh_flags & SHF_EXECINSTR)) continue;
    addr[i] += text_size;
    data_end = std::max(data_end, addr[i] + sh[i].sh_size);
  }
  const std::size_t got = align_up(data_end, 8);
  const std::size_t total = align_up(got + got_index.size() * 8, kPage);

  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return bad("cannot map code memory");
  auto code = std::make_shared<NativeModule>();
  code->mapping = p;
  code->mapping_size = total;
  code->module = &module;
  auto* base = static_cast<std::uint8_t*>(p);
  for (std::size_t i = 0; i < sh.size(); ++i)
    if (addr[i] != SIZE_MAX && sh[i].sh_type != SHT_NOBITS)
      std::memcpy(base + addr[i], obj.data() + sh[i].sh_offset, sh[i].sh_size);

  // Symbol addresses.
  auto symbol_address = [&](std::uint32_t si, std::uint64_t* out) -> bool {
    const Elf64_Sym& s = syms[si];
    if (s.st_shndx == SHN_UNDEF) {
      const std::string_view name = sym_name(s);
      void* a = helper_address(name);
      if (!a) a = libc_address(name);
      if (!a) return false;
      *out = reinterpret_cast<std::uint64_t>(a);
      return true;
    }
    if (s.st_shndx == SHN_ABS) {
      *out = s.st_value;
      return true;
    }
    if (s.st_shndx >= sh.size() || addr[s.st_shndx] == SIZE_MAX) return false;
    *out = reinterpret_cast<std::uint64_t>(base + addr[s.st_shndx]) + s.st_value;
    return true;
  };
  for (const auto& [si, gi] : got_index) {
    std::uint64_t a;
    if (!symbol_address(si, &a)) return bad("unresolved symbol '" + std::string(sym_name(syms[si])) + "'");
    std::memcpy(base + got + gi * 8, &a, 8);
  }
  for (const auto& [si, k] : stub_index) {
    // jmp *[rip + disp32] to the symbol's GOT slot.
    std::uint8_t* stub = base + stubs + k * 16;
    const std::int64_t disp =
        static_cast<std::int64_t>(got + got_index[si] * 8) - static_cast<std::int64_t>(stubs + k * 16 + 6);
    const auto d32 = static_cast<std::int32_t>(disp);
    stub[0] = 0xFF;
    stub[1] = 0x25;
    std::memcpy(stub + 2, &d32, 4);
  }
  for (const Elf64_Shdr& rs : sh) {
    if (rs.sh_type != SHT_RELA || addr[rs.sh_info] == SIZE_MAX) continue;
    const Elf64_Shdr& target = sh[rs.sh_info];
    for (std::size_t k = 0; k < rs.sh_size / sizeof(Elf64_Rela); ++k) {
      Elf64_Rela r;
      std::memcpy(&r, obj.data() + rs.sh_offset + k * sizeof r, sizeof r);
      const std::uint32_t si = ELF64_R_SYM(r.r_info);
      const std::uint32_t type = ELF64_R_TYPE(r.r_info);
      if (type == R_X86_64_NONE) continue;
      const std::size_t width = type == R_X86_64_64 ? 8 : 4;
      if (r.r_offset > target.sh_size || width > target.sh_size - r.r_offset)
        return bad("relocation out of its section");
      std::uint8_t* at = base + addr[rs.sh_info] + r.r_offset;
      const auto P = reinterpret_cast<std::int64_t>(at);
      std::int64_t S = 0;
      switch (type) {
        case R_X86_64_GOTPCREL:
        case R_X86_64_GOTPCRELX:
        case R_X86_64_REX_GOTPCRELX:
          S = reinterpret_cast<std::int64_t>(base + got + got_index[si] * 8);
          break;
        case R_X86_64_PLT32:
          if (syms[si].st_shndx == SHN_UNDEF) {
            S = reinterpret_cast<std::int64_t>(base + stubs + stub_index[si] * 16);
            break;
          }
          [[fallthrough]];
        case R_X86_64_PC32:
        case R_X86_64_64: {
          std::uint64_t a;
          if (!symbol_address(si, &a))
            return bad("unresolved symbol '" + std::string(sym_name(syms[si])) + "'");
          S = static_cast<std::int64_t>(a);
          break;
        }
        default:
          return bad("unsupported relocation type " + std::to_string(type));
      }
      // Wrapping arithmetic: the addend is the file's, any value.
      const auto sum = static_cast<std::uint64_t>(S) + static_cast<std::uint64_t>(r.r_addend);
      if (type == R_X86_64_64) {
        std::memcpy(at, &sum, 8);
      } else {
        const auto v = static_cast<std::int64_t>(sum - static_cast<std::uint64_t>(P));
        if (v < INT32_MIN || v > INT32_MAX) return bad("relocation out of range");
        const auto v32 = static_cast<std::int32_t>(v);
        std::memcpy(at, &v32, 4);
      }
    }
  }
  if (::mprotect(base, text_size, PROT_READ | PROT_EXEC) != 0 ||
      (total > text_size && ::mprotect(base + text_size, total - text_size, PROT_READ) != 0))
    return bad("cannot protect code memory");

  // Entry points.
  std::unordered_map<std::string_view, std::uint64_t> defined;
  for (std::uint32_t si = 0; si < syms.size(); ++si) {
    const Elf64_Sym& s = syms[si];
    if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF) continue;
    std::uint64_t a;
    if (symbol_address(si, &a)) defined[sym_name(s)] = a;
  }
  const std::uint32_t first = module.imported_funcs;
  const auto n = static_cast<std::uint32_t>(module.bodies.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto e = defined.find("e" + std::to_string(first + i));
    const auto f = defined.find("f" + std::to_string(first + i));
    if (e == defined.end() || f == defined.end())
      return bad("function " + std::to_string(first + i) + " missing");
    code->entries.push_back(reinterpret_cast<void*>(e->second));
    code->typed.push_back(reinterpret_cast<void*>(f->second));
    code->starts.emplace_back(f->second, first + i);
    code->starts.emplace_back(e->second, first + i);
  }
  std::sort(code->starts.begin(), code->starts.end());
  code->code_begin = reinterpret_cast<std::uintptr_t>(base);
  code->code_end = reinterpret_cast<std::uintptr_t>(base + text_size);
  register_code(code.get());
  return code;
}

}  // namespace spectrum::wasm
