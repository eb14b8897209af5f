// The bundle, as the vm tier's workload (core/tier.h, used as `spectrum run --tier vm` uses it):
//   root                   the guest's root filesystem ("/" of the container: the init runs the
//                          tier after pivot_root); read-only with root.readonly
//   process.args, env, cwd the guest program (a static x86-64 ELF inside the root), its argv,
//                          environment and working directory
//   bind mounts            the tier's mounts (directories), read-only where the mount is
//   memory.limit           the guest's memory size (the VM is sized by it; the cgroup holds the
//                          monitor, which runs inside the container, to it as well)
//   cpu quota / cpuset     the cgroup's, on the monitor's one vCPU thread
//   stdio, terminal        the init's 0, 1, 2
// The monitor runs with the init's privileges inside the container's namespaces and cgroup, and
// confines itself (its own mount namespace of the root, no capabilities, no_new_privs, its own
// seccomp allow-list: docs/vm.md); the config's user, capabilities and seccomp describe a host
// process, which the guest is not. (Without CAP_SYS_ADMIN the monitor would need a user namespace,
// where the container root's locked submounts refuse its bind of the root.)
// /dev/kvm is added to the container (node and device rule) by `prepare`; a program the tier
// cannot run (missing, not ELF, dynamic) and a host without /dev/kvm are errors of `create`.
// A signal to the container ends the init, and with the pid namespace the monitor and its guest:
// the guest has no signal handlers to deliver it to (docs/vm.md, known limits).
#include "container/vm_handler.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "core/fd.h"
#include "core/tier.h"

namespace spectrum::container {
namespace {

constexpr const char* kKvm = "/dev/kvm";
constexpr const char* kRootView = "/dev/.spectrum-vm-root";

Result<void> prepare(Config& config) {
  struct stat st {};
  if (::stat(kKvm, &st) != 0 || !S_ISCHR(st.st_mode))
    return fail("handler vm: this host has no /dev/kvm", ENODEV);
  Device kvm;
  kvm.type = 'c';
  kvm.path = kKvm;
  kvm.major = major(st.st_rdev);
  kvm.minor = minor(st.st_rdev);
  kvm.file_mode = 0660;
  config.devices.push_back(kvm);
  DeviceRule rule;
  rule.allow = true;
  rule.type = "c";
  rule.major = kvm.major;
  rule.minor = kvm.minor;
  config.device_rules.push_back(rule);
  return {};
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> find_program(const Process& process) {
  const std::string& program = process.args[0];
  if (program.find('/') != std::string::npos) {
    std::string path = program.starts_with('/') ? program : process.cwd + "/" + program;
    if (is_regular_file(path)) return path;
  } else {
    std::string_view path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const std::string& e : process.env)
      if (e.starts_with("PATH=")) path_env = std::string_view(e).substr(5);
    for (std::size_t pos = 0; pos <= path_env.size();) {
      std::size_t end = path_env.find(':', pos);
      if (end == std::string_view::npos) end = path_env.size();
      std::string candidate = std::string(path_env.substr(pos, end - pos)) + "/" + program;
      if (is_regular_file(candidate)) return candidate;
      pos = end + 1;
    }
  }
  return fail("process.args[0]: vm: \"" + program + "\": not found in the root filesystem", ENOENT,
              ExitCode::not_found);
}

// What the guest kernel runs: a static x86-64 ELF (no interpreter). Read from the header and the
// program headers only; the tier checks the rest when it loads it.
Result<void> check_elf(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("process.args[0]: vm: " + path);
  Elf64_Ehdr header{};
  if (::pread(fd.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64)
    return fail("process.args[0]: vm: " + path + " is not a 64-bit ELF executable", ENOEXEC,
                ExitCode::not_executable);
  if (header.e_machine != EM_X86_64)
    return fail("process.args[0]: vm: " + path + " is not an x86-64 executable", ENOEXEC,
                ExitCode::not_executable);
  for (unsigned i = 0; i < header.e_phnum && i < 256; ++i) {
    Elf64_Phdr ph{};
    off_t at = static_cast<off_t>(header.e_phoff + std::uint64_t{i} * sizeof ph);
    if (::pread(fd.get(), &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) break;
    if (ph.p_type == PT_INTERP)
      return fail(
          "process.args[0]: vm: " + path + " is dynamically linked; the vm tier runs static executables only",
          ENOEXEC, ExitCode::not_executable);
  }
  return {};
}

Result<void> check(const Config& config) {
  UniqueFd kvm(::open(kKvm, O_RDWR | O_CLOEXEC));
  if (!kvm) return fail_errno("handler vm: open /dev/kvm in the container");
  std::string path = SPECTRUM_TRY(find_program(config.process));
  SPECTRUM_TRY(check_elf(path));
  return {};
}

Workload workload_of(const Config& config, const std::string& program) {
  Workload w;
  w.program = program;
  w.args.assign(config.process.args.begin() + 1, config.process.args.end());
  w.env = config.process.env;
  w.inherit_env = false;
  w.workdir = config.process.cwd;
  w.rootfs = "/";
  w.rootfs_read_only = config.root_readonly;
  for (const MountEntry& m : config.mounts) {
    if (!m.bind) continue;
    struct stat st {};
    if (::stat(m.destination.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    w.mounts.push_back({m.destination, m.destination, ((m.flags | m.recursive_flags) & MS_RDONLY) != 0});
  }
  if (config.resources.memory_limit) w.limits.memory_bytes = *config.resources.memory_limit;
  return w;
}

int run(const Config& config) {
  auto fail_line = [](const std::string& message, int status) {
    std::string line = "spectrum: vm: " + message + "\n";
    (void)!::write(2, line.data(), line.size());
    return status;
  };
  auto program = find_program(config.process);
  if (!program) return fail_line(program.error().message(), program.error().exit_status());
  // The tier binds its root filesystem onto itself and pivots into it, which the current root
  // cannot be (pivot_root refuses it with EBUSY): the container's root is handed over as a
  // recursive bind under /dev, the container's own tmpfs.
  if (::mkdir(kRootView, 0700) != 0 && errno != EEXIST)
    return fail_line("mkdir " + std::string(kRootView) + ": " + std::strerror(errno), 125);
  if (::mount("/", kRootView, nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return fail_line("bind the container's root onto " + std::string(kRootView) + ": " + std::strerror(errno),
                     125);
  Workload workload = workload_of(config, *program);
  workload.rootfs = kRootView;
  auto result = make_vm_tier()->run(workload);
  if (!result) return fail_line(result.error().message(), result.error().exit_status());
  if (result->outcome != Outcome::exited && !result->detail.empty()) fail_line(result->detail, 0);
  return result->shell_status();
}

}  // namespace

const InPlaceRun& vm_in_place() {
  static const InPlaceRun handler{check, run, prepare, true};
  return handler;
}

}  // namespace spectrum::container
