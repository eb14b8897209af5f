// The bundle, as the vm tier's workload (core/tier.h's model, run by the tier's monitor):
//   root                   the guest's root filesystem ("/" of the container: the init runs the
//                          monitor after pivot_root), written through as a container's root is;
//                          read-only with root.readonly
//   process.args, env, cwd the guest program (an x86-64 ELF inside the root, static or with its
//                          dynamic linker there), its argv,
//                          environment and working directory
//   bind mounts            the tier's mounts (directories), read-only where the mount is; not
//                          those under /dev, /proc or /sys (the container's, e.g. CRI's /dev/shm)
//   memory.limit           the guest's memory size (the VM is sized by it; the cgroup holds the
//                          monitor to it as well)
//   pids.limit             the guest's task limit (the cgroup counts the monitor, and the
//                          sandbox's stubs, one per guest address space)
//   cpu quota / cpuset     the VM has one vCPU, the tier's only kind; the cgroup's quota and
//                          cpuset apply to the thread that runs it
//   stdio, terminal        the init's 0, 1, 2
// The container's init *is* the monitor (vm::run_monitor_here): `state` and the pid file give the
// monitor's pid, and a signal sent to the container reaches the monitor, which hands it to the
// guest (vm::ForwardedSignals: ignored where the guest ignores it, else the guest ends with it).
// The monitor runs with the init's privileges inside the container's namespaces and cgroup, and
// confines itself (its own mount namespace of the root, no capabilities, no_new_privs, its own
// seccomp allow-list: docs/vm.md); the config's user, capabilities and seccomp describe a host
// process, which the guest is not. (Without CAP_SYS_ADMIN the monitor would need a user namespace,
// where the container root's locked submounts refuse its bind of the root.)
// /dev/kvm is added to the container (node and device rule) by `prepare`; what the tier cannot run
// (no usable KVM, a missing program, not an x86-64 ELF, a dynamic linker missing from the root, too
// little memory for it) is an error of `create`.
#include "container/vm_handler.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "container/handler_start.h"
#include "core/fd.h"
#include "core/tier.h"
#include "vm/exec_protocol.h"
#include "vm/tier_internal.h"

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

// What the sandbox kernel runs: an x86-64 ELF. Read from the header only; the tier's preflight
// checks the rest (the program headers, a PT_INTERP's dynamic linker in the root) as it loads it.
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
  return {};
}

// The monitor's view of the container's root: the tier binds its root filesystem onto itself and
// pivots into it, which the current root cannot be (pivot_root refuses it with EBUSY), so the
// container's root is handed over as a recursive bind under /dev, the container's own tmpfs.
Workload vm_workload(const Config& config, const std::string& program) {
  Workload w = workload_of(config, program);
  // The runtime's own mounts under /dev, /proc and /sys (CRI's /dev/shm of the pod) are the
  // container's, not the guest's: the guest kernel has none of these trees, and the monitor's
  // view of the root (not recursive) has no directory to bind them on.
  std::erase_if(w.mounts, [](const Mount& m) {
    return m.target.starts_with("/dev/") || m.target.starts_with("/proc/") || m.target.starts_with("/sys/");
  });
  w.workdir = config.process.cwd;
  w.rootfs = kRootView;
  w.rootfs_writable = true;  // a container's root is written through, never a private copy
  return w;
}

// What differs between the two platforms of the same monitor.
struct Platform {
  const char* name;  // the handler's, in errors
  bool ptrace;       // the sandbox tier's stub rather than /dev/kvm
};
constexpr Platform kKvmPlatform{"vm", false};
constexpr Platform kPtracePlatform{"sandbox", true};

Result<void> check(const Config& config, const Platform& platform) {
  std::string handler = std::string("handler ") + platform.name;
  if (!platform.ptrace) {
    UniqueFd kvm(::open(kKvm, O_RDWR | O_CLOEXEC));
    if (!kvm) return fail_errno(handler + ": open /dev/kvm in the container");
  }
  if (TierProbe probe = (platform.ptrace ? make_sandbox_tier() : make_vm_tier())->probe(); !probe.usable)
    return fail(handler + ": the " + platform.name + " tier cannot run here: " + probe.reason);
  std::string path = SPECTRUM_TRY(find_in_root(config.process, std::string(platform.name) + " program"));
  SPECTRUM_TRY(check_elf(path));
  // The tier's own checks (the ELF it can load, the memory it needs), on the root as it is now.
  Workload w = workload_of(config, path);
  w.workdir = config.process.cwd;
  if (auto pre = vm::preflight(w); !pre) return fail(handler + ": " + pre.error().message());
  return {};
}

// The listening socket `create` made for `spectrum exec` (container/guest_exec.h), which this
// process inherited with the descriptor's number in its environment: -1 when there is none (a
// bundle run by an older runtime), or when what the number names is not a listening socket.
int exec_listener() {
  const char* text = ::getenv(vm::exec_protocol::kListenerEnv);
  if (!text) return -1;
  const std::string number = text;
  ::unsetenv(vm::exec_protocol::kListenerEnv);
  int fd = -1;
  try {
    fd = std::stoi(number);
  } catch (const std::exception&) {
    return -1;
  }
  int listening = 0;
  socklen_t size = sizeof listening;
  if (fd < 3 || ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening) return -1;
  return fd;
}

int run(const Config& config, const Platform& platform) {
  auto program = find_in_root(config.process, std::string(platform.name) + " program");
  if (!program) return report_line(platform.name, program.error().message(), program.error().exit_status());
  if (::mkdir(kRootView, 0700) != 0 && errno != EEXIST)
    return report_line(platform.name, "mkdir " + std::string(kRootView) + ": " + std::strerror(errno), 125);
  if (::mount("/", kRootView, nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return report_line(
        platform.name,
        "bind the container's root onto " + std::string(kRootView) + ": " + std::strerror(errno), 125);
  auto outcome = vm::run_monitor_here(vm_workload(config, *program), platform.ptrace, exec_listener());
  if (!outcome) return report_line(platform.name, outcome.error().message(), outcome.error().exit_status());
  switch (outcome->kind) {
    case vm::GuestOutcome::Kind::exited:
      return outcome->status;
    case vm::GuestOutcome::Kind::signaled:
    case vm::GuestOutcome::Kind::timed_out:
    case vm::GuestOutcome::Kind::out_of_memory:  // SIGKILL, as a container's OOM-killed init
      if (!outcome->detail.empty()) report_line(platform.name, outcome->detail, 0);
      return 128 + outcome->status;
  }
  return 125;
}

}  // namespace

const InPlaceRun& vm_in_place() {
  static const InPlaceRun handler{[](const Config& c) { return check(c, kKvmPlatform); },
                                  [](const Config& c) { return run(c, kKvmPlatform); }, prepare, true};
  return handler;
}

const InPlaceRun& sandbox_in_place() {
  static const InPlaceRun handler{[](const Config& c) { return check(c, kPtracePlatform); },
                                  [](const Config& c) { return run(c, kPtracePlatform); },
                                  {},
                                  true};
  return handler;
}

}  // namespace spectrum::container
