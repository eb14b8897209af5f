#include "vm/kernel/process.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

#include "vm/fs/root.h"

namespace spectrum::vm {

using x86::kPageMask;
using x86::kPageSize;

namespace kernel {

FdEntry* FileTable::get(std::int64_t guest_fd) {
  if (guest_fd < 0 || static_cast<std::uint64_t>(guest_fd) >= fds_.size() || !fds_[guest_fd]) return nullptr;
  return &*fds_[guest_fd];
}

GuestResult<int> FileTable::install(FdEntry entry, int lowest) {
  const std::size_t end = std::min<std::uint64_t>(soft_limit, kMaxFds);
  for (std::size_t i = static_cast<std::size_t>(std::max(lowest, 0)); i < end; ++i) {
    if (i >= fds_.size()) fds_.resize(i + 1);
    if (!fds_[i]) {
      fds_[i] = std::move(entry);
      return static_cast<int>(i);
    }
  }
  return std::unexpected(EMFILE);
}

GuestResult<int> FileTable::install_at(FdEntry entry, std::int64_t number) {
  if (number < 0 || static_cast<std::uint64_t>(number) >= std::min<std::uint64_t>(soft_limit, kMaxFds))
    return std::unexpected(EBADF);
  if (fds_.size() <= static_cast<std::size_t>(number)) fds_.resize(static_cast<std::size_t>(number) + 1);
  fds_[number] = std::move(entry);
  return static_cast<int>(number);
}

void FileTable::close_on_exec() {
  for (auto& e : fds_)
    if (e && e->cloexec) e.reset();
}

void FileTable::close_all() { fds_.clear(); }

bool FileTable::close(std::int64_t guest_fd) {
  if (!get(guest_fd)) return false;
  fds_[guest_fd].reset();
  return true;
}

void MemoryContext::forget_names(std::uint64_t start, std::uint64_t end) {
  if (start >= end) return;
  auto it = names.lower_bound(start);
  if (it != names.begin() && std::prev(it)->second.end > start) --it;
  while (it != names.end() && it->first < end) {
    NamedRange range = std::move(it->second);
    it = names.erase(it);
    if (range.start < start) names[range.start] = {range.start, start, range.name};
    if (range.end > end) names[end] = {end, range.end, range.name};
  }
}

void MemoryContext::forget_attaches(std::uint64_t start, std::uint64_t end) {
  std::erase_if(sysv_attaches, [&](const auto& entry) {
    return entry.first < end && entry.first + entry.second.length > start;
  });
}

void MemoryContext::name_range(std::uint64_t start, std::uint64_t end, const std::string& name) {
  forget_names(start, end);
  if (start < end && names.size() < kMaxNames) names[start] = {start, end, name};
}

void MemoryContext::set_layout(const LoadedProgram& program) {
  names.clear();
  sysv_attaches.clear();
  for (const NamedRange& range : program.names) name_range(range.start, range.end, range.name);
  arg_start = program.arg_start, arg_end = program.arg_end;
  env_start = program.env_start, env_end = program.env_end;
}

}  // namespace kernel

Process::Process(AddressSpace& space, GuestMemory& memory, ProcessConfig config)
    : mm_(std::make_shared<kernel::MemoryContext>(
          kernel::MemoryContext{&space, memory, nullptr, 0, 0, config.memory_bytes})),
      files_(std::make_shared<kernel::FileTable>()),
      fs_(std::make_shared<kernel::FsContext>()),
      sighand_(std::make_shared<kernel::SignalHandlers>()),
      executable_(config.executable),
      log_(std::move(config.log)),
      refusals_(std::make_shared<kernel::RefusalLog>()),
      max_tasks_(config.max_tasks) {
  install_invokers_file(std::move(config.stdin_fd), 0);
  install_invokers_file(std::move(config.stdout_fd), 1);
  install_invokers_file(std::move(config.stderr_fd), 2);
  fs_->root = std::move(config.root);
  fs_->cwd = vfs::normalize(config.cwd.empty() ? "/" : config.cwd);
  fs_->read_only = config.read_only;
  fs_->mounts = std::move(config.mounts);
  const std::string base = executable_.substr(executable_.rfind('/') + 1);
  std::memcpy(thread_name_.data(), base.data(), std::min<std::size_t>(base.size(), 15));
}

Process::Process(const Process& parent, std::unique_ptr<AddressSpace> space, std::uint64_t clone_flags)
    : fs_base_(parent.fs_base_),
      gs_base_(parent.gs_base_),
      sigmask_(parent.sigmask_),
      thread_name_(parent.thread_name_),
      mm_((clone_flags & CLONE_VM) ? parent.mm_
                                   : std::make_shared<kernel::MemoryContext>(kernel::MemoryContext{
                                         space.get(), parent.mm_->memory, nullptr, parent.mm_->brk_start,
                                         parent.mm_->brk, parent.mm_->limit_bytes})),
      files_((clone_flags & CLONE_FILES) ? parent.files_
                                         : std::make_shared<kernel::FileTable>(*parent.files_)),
      fs_((clone_flags & CLONE_FS) ? parent.fs_ : std::make_shared<kernel::FsContext>()),
      sighand_((clone_flags & CLONE_SIGHAND) ? parent.sighand_
                                             : std::make_shared<kernel::SignalHandlers>(*parent.sighand_)),
      executable_(parent.executable_),
      log_(parent.log_),
      refusals_(parent.refusals_),
      kernel_(parent.kernel_),
      max_tasks_(parent.max_tasks_) {
  if (!(clone_flags & CLONE_VM)) {
    mm_->owned = std::move(space);
    mm_->names = parent.mm_->names;
    mm_->sysv_attaches = parent.mm_->sysv_attaches;
    mm_->arg_start = parent.mm_->arg_start, mm_->arg_end = parent.mm_->arg_end;
    mm_->env_start = parent.mm_->env_start, mm_->env_end = parent.mm_->env_end;
  }
  if (!(clone_flags & CLONE_FS)) {
    fs_->root = UniqueFd(::fcntl(parent.fs_->root.get(), F_DUPFD_CLOEXEC, 0));
    fs_->cwd = parent.fs_->cwd;
    fs_->umask = parent.fs_->umask;
    fs_->read_only = parent.fs_->read_only;
    fs_->mounts = parent.fs_->mounts;
  }
}

void Process::install_invokers_file(UniqueFd fd, int number) {
  if (!fd) return;
  const int flags = ::fcntl(fd.get(), F_GETFL);
  kernel::OpenFile file;
  file.host = std::move(fd);
  file.shared = true;
  file.status_flags = flags < 0 ? 0 : flags & (O_APPEND | O_NONBLOCK);
  (void)files_->install_at({std::make_shared<kernel::OpenFile>(std::move(file)), false}, number);
}

void Process::replace_memory(std::unique_ptr<AddressSpace> space) {
  auto mm = std::make_shared<kernel::MemoryContext>(
      kernel::MemoryContext{space.get(), mm_->memory, nullptr, 0, 0, mm_->limit_bytes});
  mm->owned = std::move(space);
  mm_ = std::move(mm);
}

void Process::release_files() {
  if (files_.use_count() == 1) files_->close_all();
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> Process::executable_id() {
  if (!executable_id_ && !executable_.empty() && fs_->root) {
    struct stat st;
    if (auto fd = open_in_root(executable_, O_PATH, 0); fd && ::fstat(fd->get(), &st) == 0)
      executable_id_ = std::pair<std::uint64_t, std::uint64_t>{st.st_dev, st.st_ino};
  }
  return executable_id_;
}

void Process::set_executable(const std::string& path) {
  executable_ = path;
  executable_id_.reset();
  const std::string base = path.substr(path.rfind('/') + 1);
  thread_name_ = {};
  std::memcpy(thread_name_.data(), base.data(), std::min<std::size_t>(base.size(), 15));
}

void Process::log(const std::string& line) const {
  if (log_)
    log_(line);
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

void Process::refuse_once(std::uint64_t number, const std::string& why) {
  // Bounded whatever the guest calls: each number below 1024 once, all higher ones once together,
  // and at most kMaxRefusalLines lines in all (a flood of refusals cannot flood the log).
  constexpr unsigned kMaxRefusalLines = 32;
  kernel::RefusalLog& r = *refusals_;
  if (number < r.logged.size()) {
    if (r.logged.test(number)) return;
    r.logged.set(number);
  } else {
    if (r.high_logged) return;
    r.high_logged = true;
  }
  if (r.lines > kMaxRefusalLines) return;
  if (++r.lines > kMaxRefusalLines) {
    log("spectrum: vm: more refused syscalls; not logged any more in this run");
    return;
  }
  log("spectrum: vm: refused " + syscall_name(number) + " (syscall " + std::to_string(number) +
      ") with ENOSYS: " + why + (number >= r.logged.size() ? " (logged once for all numbers >= 1024)" : ""));
}

GuestResult<std::vector<::iovec>> Process::guest_iovecs(std::uint64_t vaddr, std::uint64_t length,
                                                        Access access) const {
  std::vector<::iovec> out;
  if (length > AddressSpace::kUserEnd || vaddr > AddressSpace::kUserEnd - length)
    return std::unexpected(EFAULT);
  while (length > 0) {
    auto gpa = space().translate(vaddr, access);
    if (!gpa) return std::unexpected(gpa.error());
    const std::uint64_t chunk = std::min<std::uint64_t>(length, kPageSize - (vaddr & kPageMask));
    std::uint8_t* host = memory().at(*gpa, chunk);
    if (!host) return std::unexpected(EFAULT);
    if (!out.empty() && static_cast<std::uint8_t*>(out.back().iov_base) + out.back().iov_len == host)
      out.back().iov_len += chunk;
    else
      out.push_back({host, chunk});
    vaddr += chunk;
    length -= chunk;
  }
  return out;
}

}  // namespace spectrum::vm
