#include "vm/loader/user_stack.h"

#include <elf.h>

#include <cstring>

namespace spectrum::vm {

InitialStack build_initial_stack(std::uint64_t top, const std::vector<std::string>& argv,
                                 const std::vector<std::string>& envp, const AuxvInputs& aux) {
  // The string area at the top, written downwards like Linux: execfn, strings, platform, random.
  std::vector<std::uint8_t> strings;
  auto push_string = [&](const std::string& s) {
    strings.insert(strings.end(), s.begin(), s.end());
    strings.push_back(0);
    return strings.size() - s.size() - 1;  // offset inside `strings`
  };
  std::vector<std::size_t> argv_at, envp_at;
  for (const auto& a : argv) argv_at.push_back(push_string(a));
  for (const auto& e : envp) envp_at.push_back(push_string(e));
  const std::size_t platform_at = push_string("x86_64");
  const std::size_t execfn_at = !aux.execfn.empty() ? push_string(aux.execfn)
                                : argv.empty()      ? platform_at
                                                    : argv_at[0];
  const std::size_t random_at = strings.size();
  strings.insert(strings.end(), aux.random.begin(), aux.random.end());

  const std::uint64_t strings_base = (top - strings.size()) & ~std::uint64_t{15};
  auto address = [&](std::size_t offset) { return strings_base + offset; };

  std::vector<std::uint64_t> words;
  words.push_back(argv.size());
  for (auto at : argv_at) words.push_back(address(at));
  words.push_back(0);
  for (auto at : envp_at) words.push_back(address(at));
  words.push_back(0);
  const std::pair<std::uint64_t, std::uint64_t> auxv[] = {
      {AT_PHDR, aux.phdr},
      {AT_PHENT, aux.phent},
      {AT_PHNUM, aux.phnum},
      {AT_PAGESZ, 4096},
      {AT_BASE, aux.base},
      {AT_FLAGS, 0},
      {AT_ENTRY, aux.entry},
      {AT_UID, 0},
      {AT_EUID, 0},
      {AT_GID, 0},
      {AT_EGID, 0},
      {AT_SECURE, 0},
      {AT_CLKTCK, 100},
      {AT_HWCAP, aux.hwcap},
      {AT_HWCAP2, 0},
      {AT_PLATFORM, address(platform_at)},
      {AT_RANDOM, address(random_at)},
      {AT_EXECFN, address(execfn_at)},
      {AT_NULL, 0},
  };
  if (aux.vdso) {  // first, where Linux writes it
    words.push_back(AT_SYSINFO_EHDR);
    words.push_back(aux.vdso);
  }
  for (auto [type, value] : auxv) {
    words.push_back(type);
    words.push_back(value);
  }
  // rsp must be 16-byte aligned at entry, pointing at argc.
  const std::uint64_t rsp = (strings_base - words.size() * 8) & ~std::uint64_t{15};

  InitialStack stack;
  stack.rsp = rsp;
  stack.arg_start = address(0);
  stack.arg_end = stack.env_start = address(argv.empty() ? 0 : argv_at.back() + argv.back().size() + 1);
  stack.env_end = envp.empty() ? stack.env_start : address(envp_at.back() + envp.back().size() + 1);
  stack.bytes.assign(top - rsp, 0);
  std::memcpy(stack.bytes.data(), words.data(), words.size() * 8);
  std::memcpy(stack.bytes.data() + (strings_base - rsp), strings.data(), strings.size());
  return stack;
}

}  // namespace spectrum::vm
