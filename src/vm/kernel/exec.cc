// execve: the running task's program replaced by another from the root filesystem, `#!` scripts
// through their interpreter, dynamic programs through their linker. Everything the guest names is
// bounded before it is used: the path (PATH_MAX), argv and envp (count and total size, as Linux's
// E2BIG), the file (1 GiB), the `#!` line (256 bytes) and its nesting (4 levels, then ELOOP).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include "vm/boot.h"
#include "vm/kernel/kernel.h"
#include "vm/loader/elf.h"
#include "vm/loader/interp.h"
#include "vm/loader/load.h"
#include "vm/loader/program_file.h"
#include "vm/monitor.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::kernel {

namespace {

constexpr std::size_t kMaxArgStrings = 1 << 16;
constexpr std::size_t kMaxArgBytes = 2 << 20;  // argv + envp together, like a 8 MiB stack's quarter
constexpr std::uint64_t kMaxExecutable = 1ull << 30;
constexpr int kMaxScriptDepth = 4;

// A NULL-terminated array of string pointers in guest memory.
GuestResult<std::vector<std::string>> read_strings(const Process& p, std::uint64_t array,
                                                   std::size_t& budget) {
  std::vector<std::string> out;
  if (array == 0) return out;
  for (std::size_t i = 0;; ++i) {
    if (i >= kMaxArgStrings) return std::unexpected(E2BIG);
    auto ptr = syscalls::read_struct<std::uint64_t>(p, array + i * 8);
    if (!ptr) return std::unexpected(ptr.error());
    if (*ptr == 0) break;
    auto s = p.space().read_string(*ptr, std::min<std::size_t>(budget, 128 * 1024));
    if (!s) return std::unexpected(s.error() == ENAMETOOLONG ? E2BIG : s.error());
    if (s->size() + 1 > budget) return std::unexpected(E2BIG);
    budget -= s->size() + 1;
    out.push_back(std::move(*s));
  }
  return out;
}

GuestResult<ProgramFile> read_file(Process& p, const std::string& absolute) {
  auto fd = p.open_in_root(absolute, O_RDONLY, 0);
  if (!fd) return std::unexpected(fd.error());
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return std::unexpected(errno);
  if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) return std::unexpected(EACCES);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxExecutable) return std::unexpected(ENOMEM);
  return read_program_head(std::move(*fd), static_cast<std::uint64_t>(st.st_size));
}

}  // namespace

bool Kernel::running_executable(std::uint64_t dev, std::uint64_t ino) {
  for (auto& t : tasks_)
    if (t->process && t->state != Task::State::zombie)
      if (auto id = t->process->executable_id(); id && id->first == dev && id->second == ino) return true;
  return false;
}

SyscallResult Kernel::exec(Process& p, std::uint64_t path_ptr, std::uint64_t argv_ptr,
                           std::uint64_t envp_ptr) {
  std::string path = TRY_GUEST(syscalls::read_path(p, path_ptr));
  std::size_t budget = kMaxArgBytes;
  std::vector<std::string> argv = TRY_GUEST(read_strings(p, argv_ptr, budget));
  std::vector<std::string> envp = TRY_GUEST(read_strings(p, envp_ptr, budget));
  return exec_program(p, std::move(path), std::move(argv), std::move(envp));
}

SyscallResult Kernel::exec_program(Process& p, std::string path, std::vector<std::string> argv,
                                   std::vector<std::string> envp) {
  std::string absolute;
  ProgramFile file;
  for (int depth = 0;; ++depth) {
    absolute = TRY_GUEST(p.guest_path(AT_FDCWD, path));
    // /proc/self/exe (a re-exec) is the program it links to; a /proc file is not executable.
    auto resolved = TRY_GUEST(syscalls::resolve_proc(p, absolute, true));
    if (resolved.node) return SyscallResult::error(EACCES);
    absolute = std::move(resolved.path);
    file = TRY_GUEST(read_file(p, absolute));
    const std::string& bytes = file.head;  // the `#!` line is within it (256 bytes at most)
    if (bytes.size() < 2 || bytes[0] != '#' || bytes[1] != '!') break;
    // "#!interpreter [one argument]": the script runs as `interpreter [arg] path args...`.
    if (depth >= kMaxScriptDepth) return SyscallResult::error(ELOOP);
    std::string line = bytes.substr(2, std::min<std::size_t>(bytes.find('\n'), 256) - 2);
    if (line.size() >= 254 && bytes.find('\n') > 256) return SyscallResult::error(ENOEXEC);
    const auto begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) return SyscallResult::error(ENOEXEC);
    line = line.substr(begin);
    const auto end = line.find_first_of(" \t");
    std::string interpreter = line.substr(0, end);
    std::string arg;
    if (end != std::string::npos) {
      arg = line.substr(line.find_first_not_of(" \t", end) == std::string::npos
                            ? line.size()
                            : line.find_first_not_of(" \t", end));
      while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t' || arg.back() == '\r')) arg.pop_back();
    }
    std::vector<std::string> next{interpreter};
    if (!arg.empty()) next.push_back(arg);
    next.push_back(path);
    if (argv.size() > 1) next.insert(next.end(), argv.begin() + 1, argv.end());
    argv = std::move(next);
    path = interpreter;
  }
  auto elf = parse_program(file, absolute);
  if (!elf) return SyscallResult::error(ENOEXEC);
  auto interp = read_interpreter(p.fs().root.get(), *elf, absolute);
  if (!interp) {
    const int err = interp.error().sys_errno();
    return SyscallResult::error(err ? err : ELIBBAD);
  }

  // The point of no return: the other threads and the old program's memory go. A vfork child
  // leaves that memory to its parent, which goes on once the child has its own.
  // Its new space is made first: a failure then still returns to the old program.
  std::unique_ptr<AddressSpace> fresh;
  if (p.memory_shared()) {
    auto made = p.space().fresh(kernel_area_ranges());
    if (!made) return SyscallResult::error(made.error());
    fresh = std::make_unique<AddressSpace>(std::move(*made));
    if (!ctx_.prepare_space(*fresh)) return SyscallResult::error(ENOMEM);
  }
  Task& self = task_of(p);
  end_group(self);
  self.altstack = arch::kNoSignalStack;  // the new program has no alternate signal stack
  if (p.memory_shared() && fresh) {      // still shared once the threads are gone: a vfork's
    p.replace_memory(std::move(fresh));
  } else {
    (void)p.space().unmap(AddressSpace::kUserLowest, AddressSpace::kUserEnd - AddressSpace::kUserLowest);
  }
  vfork_done(self);
  AddressSpace& space = p.space();
  auto loaded =
      load_program(space, {absolute, file.head, *elf, *interp ? &**interp : nullptr, file.fd.get()}, argv,
                   envp, stack_size_for(p.mm().limit_bytes ? p.mm().limit_bytes : 256ull << 20), vdso_);
  if (!loaded) {
    p.log("spectrum: vm: execve of " + absolute +
          " failed after the old program was gone: " + load_error_text(loaded.error()));
    return {SyscallResult::Kind::signal, SIGKILL, {}, {}, {}, {}};
  }
  p.set_brk_start(loaded->brk_start);
  p.mm().set_layout(*loaded);
  p.fs_base_ = p.gs_base_ = 0;
  p.files().close_on_exec();
  for (auto& action : p.sighand().actions)  // caught signals go back to their default action
    if (action[0] != reinterpret_cast<std::uint64_t>(SIG_IGN)) action = {};
  p.set_executable(absolute);
  platform::Registers regs;
  regs.rip = loaded->start;
  regs.rsp = loaded->rsp;
  regs.rflags = 0x202;
  restart_at_ = regs;
  return SyscallResult::ret(0);
}

}  // namespace spectrum::vm::kernel
